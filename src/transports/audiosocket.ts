/**
 * Asterisk AudioSocket server: a TCP listener (Asterisk is always the client) that filters peers
 * by AUDIOSOCKET_ALLOW and runs one AudioSocketConnection per accepted socket.
 */
import type { Logger } from "../log.ts";
import type { AllowList } from "./allowlist.ts";
import { AudioSocketConnection, type ConnectionContext } from "./audiosocket-connection.ts";
import type { AdmitCall, RefusingNew, TransportStats } from "./types.ts";

export interface AudioSocketServerOptions {
  host: string;
  port: number;
  allow: AllowList;
  admit: AdmitCall;
  log: Logger;
  stats: TransportStats;
  /** A connection arriving while this says so is closed at once (WHEN_FULL=refuse); unset = never. */
  refusingNew?: RefusingNew;
  /** How long a new connection may take to send its UUID message (default 5000 ms). */
  uuidTimeoutMs?: number;
}

export interface AudioSocketServer {
  readonly hostname: string;
  readonly port: number;
  readonly activeConnections: number;
  /** Closes the listener and every connection; each leg ends with onClose("shutdown"). */
  stop(): Promise<void>;
}

function formatPeer(address: string, port: number): string {
  return address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function startAudioSocketServer(options: AudioSocketServerOptions): AudioSocketServer {
  const { allow, log, stats } = options;
  const connections = new Set<AudioSocketConnection>();
  const context: ConnectionContext = {
    admit: options.admit,
    log,
    stats,
    uuidTimeoutMs: options.uuidTimeoutMs ?? 5000,
    onGone: (connection) => connections.delete(connection),
  };

  let listener;
  try {
    listener = Bun.listen<AudioSocketConnection | undefined>({
      hostname: options.host,
      port: options.port,
      data: undefined,
      socket: {
        binaryType: "uint8array",
        open(socket) {
          // Each message is one small write that must leave at once, not wait for the next one.
          socket.setNoDelay(true);
          const peer = formatPeer(socket.remoteAddress, socket.remotePort);
          if (!allow.allows(socket.remoteAddress)) {
            stats.connectionsRejected++;
            log.warn("connection refused: peer is not in AUDIOSOCKET_ALLOW", { peer, allow: allow.toString() });
            socket.terminate();
            return;
          }
          if (options.refusingNew?.()) {
            stats.connectionsRejected++;
            log.warn("connection refused: full (WHEN_FULL=refuse); the dialplan's registration should have moved the call on", { peer });
            socket.terminate();
            return;
          }
          stats.connectionsAccepted++;
          const connection = new AudioSocketConnection(socket, peer, context);
          connections.add(connection);
          socket.data = connection;
        },
        data(socket, chunk) {
          socket.data?.onData(chunk);
        },
        drain(socket) {
          socket.data?.onDrain();
        },
        close(socket) {
          socket.data?.onSocketClosed();
        },
        error(socket, error) {
          log.error("socket handler failed", { peer: socket.data?.peer, error: describe(error) });
        },
      },
    });
  } catch (error) {
    throw new Error(`AudioSocket server cannot listen on ${options.host}:${options.port}: ${describe(error)}`);
  }
  const server = listener;

  return {
    hostname: server.hostname,
    port: server.port,
    get activeConnections(): number {
      return connections.size;
    },
    async stop(): Promise<void> {
      for (const connection of [...connections]) connection.shutdown();
      connections.clear();
      server.stop(true);
    },
  };
}
