/**
 * What every WebSocket listener a PBX dials shares (mod_audio_stream, chan_websocket, ASP, the
 * console's test call): the peer's name in logs, the shared-secret check, the refusals.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { Logger } from "../log.ts";
import type { TransportStats } from "./types.ts";

/** `ip:port`, IPv6 in brackets; "unknown" when Bun cannot say. */
export function formatPeer(address: { address: string; port: number } | null): string {
  if (address === null) return "unknown";
  return address.address.includes(":") ? `[${address.address}]:${address.port}` : `${address.address}:${address.port}`;
}

export function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** `Authorization: Bearer <token>`; null without one. */
export function bearer(req: Request): string | null {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.get("authorization") ?? "");
  return match?.[1] ?? null;
}

function digest(secret: string): Buffer {
  return createHash("sha256").update(secret).digest();
}

/** A configured token, compared in constant time (both sides hashed first, so lengths never leak). */
export class SharedSecret {
  private readonly expected: Buffer;

  constructor(token: string) {
    this.expected = digest(token);
  }

  matches(given: string): boolean {
    return timingSafeEqual(digest(given), this.expected);
  }
}

/** Counts and logs a refused upgrade, and answers it with the reason. */
export function refuser(stats: TransportStats, log: Logger): (peer: string, status: number, reason: string) => Response {
  return (peer, status, reason) => {
    stats.connectionsRejected++;
    log.warn("upgrade refused", { peer, status, reason });
    return new Response(`${reason}\n`, { status });
  };
}

/** Plain HTTP on a WebSocket listener: 426 with a one-line hint of what is expected. */
export function upgradeRequired(hint: string): Response {
  return new Response(hint, { status: 426, headers: { upgrade: "websocket", connection: "upgrade" } });
}

export function wantsUpgrade(req: Request): boolean {
  return req.headers.get("upgrade")?.toLowerCase() === "websocket";
}
