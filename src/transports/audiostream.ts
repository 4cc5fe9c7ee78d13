/**
 * FreeSWITCH mod_audio_stream server: a WebSocket listener (FreeSWITCH is always the client) that
 * checks each upgrade's path, token and audio layout, then runs one AudioStreamConnection per
 * stream (PROTOCOLS.md §2).
 */
import type { Logger } from "../log.ts";
import { SharedSecret, bearer, describe, formatPeer, refuser, upgradeRequired, wantsUpgrade } from "./ws-listener.ts";
import { AudioStreamConnection, type StreamConnectionContext } from "./audiostream-connection.ts";
import type { PlaybackMode } from "./audiostream-playback.ts";
import { STREAM_RATES, StreamUrlError, parseStreamUrl, type MixType, type StreamRequest } from "./audiostream-url.ts";
import type { FreeswitchMediaControl } from "./freeswitch-control.ts";
import type { AdmitCall, TransportStats } from "./types.ts";

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

interface SocketData {
  peer: string;
  request: StreamRequest;
  connection: AudioStreamConnection | null;
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

  let server;
  try {
    server = Bun.serve<SocketData>({
      hostname: options.host,
      port: options.port,
      fetch(req, srv) {
        const peer = formatPeer(srv.requestIP(req));
        if (!wantsUpgrade(req)) return upgradeRequired(UPGRADE_HINT);
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
      websocket: {
        // FreeSWITCH never offers it (fixtures README 0.2), and audio does not compress.
        perMessageDeflate: false,
        open(ws) {
          stats.connectionsAccepted++;
          const { request } = ws.data;
          const connection = new AudioStreamConnection(
            ws, ws.data.peer, request, request.rate ?? options.defaultRate, request.mix ?? options.defaultMix, context,
          );
          connections.add(connection);
          ws.data.connection = connection;
        },
        message(ws, message) {
          ws.data.connection?.onMessage(message);
        },
        close(ws, code, reason) {
          ws.data.connection?.onSocketClosed(code, reason);
        },
        error(error, ws) {
          log.error("websocket handler failed", { peer: ws.data.peer, error: describe(error) });
        },
      },
      error(error) {
        log.error("audiostream request failed", { error: error.message });
        return new Response("internal error\n", { status: 500 });
      },
    });
  } catch (error) {
    throw new Error(`audiostream server cannot listen on ${options.host}:${options.port}: ${describe(error)}`);
  }
  const listener = server;

  return {
    hostname: listener.hostname ?? options.host,
    port: listener.port ?? options.port,
    get activeConnections(): number {
      return connections.size;
    },
    async stop(): Promise<void> {
      for (const connection of [...connections]) connection.shutdown();
      connections.clear();
      await listener.stop(true);
    },
  };
}
