/**
 * Console sign-ins, kept in memory: a session is a random id the browser holds in an HttpOnly
 * cookie. Memory, not the store: nothing is written on the call path's database for a page view,
 * no session secret ever lands on disk, and a restart (rare on an appliance) only asks for the
 * token again. Bounded: the oldest session goes when there are too many.
 */
export interface Session {
  readonly id: string;
  /** Who signs ticket changes: the name given at sign-in, else "admin". */
  readonly who: string;
  readonly createdAt: number;
  lastSeen: number;
}

export const SESSION_COOKIE = "voicebot_session";
const MAX_SESSIONS = 1000;

export class Sessions {
  private readonly byId = new Map<string, Session>();

  constructor(
    /** A session unused this long is gone. */
    readonly idleMs = 30 * 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  open(who: string): Session {
    if (this.byId.size >= MAX_SESSIONS) {
      const oldest = this.byId.keys().next().value;
      if (oldest !== undefined) this.byId.delete(oldest);
    }
    const id = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url");
    const t = this.now();
    const session: Session = { id, who, createdAt: t, lastSeen: t };
    this.byId.set(id, session);
    return session;
  }

  /** The live session with this id, its idle clock restarted; null when unknown or expired. */
  touch(id: string): Session | null {
    const s = this.byId.get(id);
    if (!s) return null;
    const t = this.now();
    if (t - s.lastSeen > this.idleMs) {
      this.byId.delete(id);
      return null;
    }
    s.lastSeen = t;
    // Re-inserted: the map stays in least-recently-used order for the bound above.
    this.byId.delete(id);
    this.byId.set(id, s);
    return s;
  }

  close(id: string): void {
    this.byId.delete(id);
  }

  get size(): number {
    return this.byId.size;
  }
}

export function sessionCookie(id: string, maxAgeSeconds: number): string {
  return `${SESSION_COOKIE}=${id}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${maxAgeSeconds}`;
}

export function clearedCookie(): string {
  return `${SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0`;
}

export function sessionIdOf(req: Request): string | null {
  const header = req.headers.get("cookie");
  if (!header) return null;
  for (const part of header.split(";")) {
    const [name, ...rest] = part.trim().split("=");
    if (name === SESSION_COOKIE) return rest.join("=") || null;
  }
  return null;
}
