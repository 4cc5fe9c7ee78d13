/**
 * What the dialplan tells voicebot about an AudioSocket call outside the socket (which carries only
 * a UUID): who called and which company, registered by `POST /api/calls/{uuid}` before
 * `AudioSocket()`; and, after voicebot ends the socket, what the dialplan should do next
 * (`GET /api/calls/{uuid}/next`). Either side may come first; entries expire unclaimed.
 */


export interface CallInfo {
  callerNumber: string | null;
  dnis: string | null;
  /** The tenant id the dialplan named (already resolved to a known tenant), null = default. */
  tenant: string | null;
}

/** The dialplan's next step, as `/next` answers it. */
export type NextStep = { kind: "transfer"; context: string; exten: string; priority: string } | { kind: "hangup" };

interface Entry<T> {
  value: T;
  expiresAt: number;
}

/** Bounded, expiring map: oldest first, pruned as new entries arrive. */
class ExpiringMap<T> {
  private readonly entries = new Map<string, Entry<T>>();

  constructor(private readonly ttlMs: number, private readonly max: number) {}

  set(key: string, value: T, now: number): void {
    this.prune(now);
    this.entries.delete(key);
    this.entries.set(key, { value, expiresAt: now + this.ttlMs });
    if (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value as string);
  }

  get(key: string, now: number): T | null {
    const e = this.entries.get(key);
    return e && e.expiresAt > now ? e.value : null;
  }

  take(key: string, now: number): T | null {
    const v = this.get(key, now);
    this.entries.delete(key);
    return v;
  }

  get size(): number {
    return this.entries.size;
  }

  private prune(now: number): void {
    for (const [key, e] of this.entries) {
      if (e.expiresAt > now) return;
      this.entries.delete(key);
    }
  }
}

export class CallDirectory {
  private readonly pending: ExpiringMap<CallInfo>;
  private readonly nextSteps: ExpiringMap<NextStep>;
  /** Calls admitted before their registration: told when it arrives. */
  private readonly waiting = new Map<string, (info: CallInfo) => void>();

  constructor(ttlMs = 120_000, max = 10_000, private readonly now: () => number = Date.now) {
    this.pending = new ExpiringMap(ttlMs, max);
    this.nextSteps = new ExpiringMap(ttlMs, max);
  }

  /** The dialplan's registration. "joined": a call with this UUID was already up and now has it. */
  register(uuid: string, info: CallInfo): "joined" | "waiting" {
    const live = this.waiting.get(uuid);
    if (live) {
      this.waiting.delete(uuid);
      live(info);
      return "joined";
    }
    this.pending.set(uuid, info, this.now());
    return "waiting";
  }

  /** At admission: the registration that came first, if any (consumed). */
  take(uuid: string): CallInfo | null {
    return this.pending.take(uuid, this.now());
  }

  /** A call up without its registration: `late` runs if it arrives; the returned function cancels. */
  awaitLate(uuid: string, late: (info: CallInfo) => void): () => void {
    this.waiting.set(uuid, late);
    return () => {
      if (this.waiting.get(uuid) === late) this.waiting.delete(uuid);
    };
  }

  setNext(uuid: string, step: NextStep): void {
    this.nextSteps.set(uuid, step, this.now());
  }

  /** What `/next` answers: the step set for this call, else hang up (a bot that ended the call). */
  next(uuid: string): NextStep {
    return this.nextSteps.take(uuid, this.now()) ?? { kind: "hangup" };
  }

  get size(): { pending: number; next: number; waiting: number } {
    return { pending: this.pending.size, next: this.nextSteps.size, waiting: this.waiting.size };
  }
}

/** `/next`'s one-line answer, shaped for the dialplan: `Goto(${VB_NEXT:9})` after "transfer ". */
export function formatNextStep(step: NextStep): string {
  return step.kind === "hangup" ? "hangup" : `transfer ${step.context},${step.exten},${step.priority}`;
}
