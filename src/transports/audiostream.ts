/**
 * FreeSWITCH mod_audio_stream server: a WebSocket listener (FreeSWITCH is always the client) that
 * checks each upgrade's path, token and audio layout, then runs one AudioStreamConnection per
 * stream (PROTOCOLS.md §2).
 */
import type { Logger } from "../log.ts";
import { SharedSecret, bearer, listenWebSocket, refuser, type SocketSlot } from "./ws-listener.ts";
import { AudioStreamConnection, type StreamConnectionContext } from "./audiostream-connection.ts";
import type { PlaybackMode } from "./audiostream-playback.ts";
import { STREAM_RATES, StreamUrlError, parseStreamUrl, type MixType, type StreamRequest } from "./audiostream-url.ts";
import type { FreeswitchMediaControl } from "./freeswitch-control.ts";
import type { AdmitCall, RefusingNew, TransportStats } from "./types.ts";

export interface AudioStreamServerOptions {
  host: string;
  port: number;
  /** AUDIOSTREAM_TOKEN: required as `?token=` (or a Bearer header) when set; 401 on the upgrade otherwise. */
  token: string | null;
  /** When the URL has no `?rate=` (the module does not say its rate). */
  defaultRate: number;
  defaultMix: MixType;
  /** AUDIOSTREAM_PLAYBACK. */
  playback: PlaybackMode;
  /** Canonical tenant id for the id in the path/metadata (null = none given → default); null rejects (close 1008 "unknown tenant"). */
  resolveTenant: (id: string | null) => string | null;
  /** ESL; null = not configured. */
  control: FreeswitchMediaControl | null;
  admit: AdmitCall;
  /** Upgrades get 503 while this says so (WHEN_FULL=refuse); unset = never. */
  refusingNew?: RefusingNew;
  log: Logger;
  stats: TransportStats;
  /** Nothing at all this long after the upgrade → close (default 5000 ms). */
  firstMessageTimeoutMs?: number;
}

export interface AudioStreamServer {
  readonly hostname: string;
  readonly port: number;
  readonly activeConnections: number;
  /** Closes the listener and every stream; each leg ends with onClose("shutdown"). */
  stop(): Promise<void>;
}

interface SocketData extends SocketSlot<AudioStreamConnection> {
  request: StreamRequest;
}

const UPGRADE_HINT =
  "voicebot mod_audio_stream endpoint: expects a WebSocket, as FreeSWITCH opens with " +
  "uuid_audio_stream <uuid> start ws://HOST:PORT/stream/<tenant>/<uuid>?rate=16000 mono 16k\n";

export function startAudioStreamServer(options: AudioStreamServerOptions): AudioStreamServer {
  const { log, stats } = options;
  if (!STREAM_RATES.includes(options.defaultRate)) {
    throw new Error(`audiostream default rate ${options.defaultRate} is not supported: use ${STREAM_RATES.join(", ")}`);
  }
  const secret = options.token === null ? null : new SharedSecret(options.token);
  const connections = new Set<AudioStreamConnection>();
  const context: StreamConnectionContext = {
    admit: options.admit,
    log,
    stats,
    playback: options.playback,
    control: options.control,
    resolveTenant: options.resolveTenant,
    firstMessageTimeoutMs: options.firstMessageTimeoutMs ?? 5000,
    onGone: (connection) => connections.delete(connection),
  };

  const refuse = refuser(stats, log);
  const listener = listenWebSocket<SocketData, AudioStreamConnection>({
    name: "audiostream", host: options.host, port: options.port, log, stats, connections, hint: UPGRADE_HINT, refusingNew: options.refusingNew,
    upgrade(req, srv, peer) {
      let request: StreamRequest;
      try {
        request = parseStreamUrl(new URL(req.url));
      } catch (error) {
        if (error instanceof StreamUrlError) return refuse(peer, 400, error.message);
        throw error;
      }
      if (secret !== null) {
        const given = request.token ?? bearer(req);
        if (given === null) return refuse(peer, 401, "missing token: give AUDIOSTREAM_TOKEN as ?token= in the stream URL");
        if (!secret.matches(given)) return refuse(peer, 401, "wrong token: ?token= does not match AUDIOSTREAM_TOKEN");
      }
      if (srv.upgrade(req, { data: { peer, request, connection: null } })) return undefined;
      return refuse(peer, 400, "WebSocket upgrade failed: not a valid WebSocket handshake");
    },
    // FreeSWITCH never offers permessage-deflate (fixtures README 0.2).
    connect: (ws) => new AudioStreamConnection(ws, ws.data.peer, ws.data.request, ws.data.request.rate ?? options.defaultRate, ws.data.request.mix ?? options.defaultMix, context),
  });

  return {
    hostname: listener.hostname,
    port: listener.port,
    get activeConnections(): number {
      return connections.size;
    },
    stop: () => listener.stop(),
  };
}
