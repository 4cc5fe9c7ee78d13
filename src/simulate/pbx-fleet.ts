/**
 * A PBX spreading calls over several appliances the way `pbx-config … --node …` renders it, in
 * turn from the first or round-robin starting one further each call. `call`: the Asterisk
 * AudioSocket dialplan — each call is registered (POST /api/calls/{uuid}, caller, DNIS, tenant)
 * with one appliance after the other, the first that answers "waiting" or "joined" takes it over
 * AudioSocket; "full" (503, WHEN_FULL=refuse), any other answer or none (unreachable) moves the
 * call on. `dial`: the FreeSWITCH Lua and the chan_websocket dialplan — the WebSocket itself
 * says: a refused upgrade or no connection moves the call on. When none takes it the caller hears
 * the PBX's busy message (no call). After an Asterisk call the PBX asks that appliance /next.
 */
import type { PbxNodeOrder } from "../config/schema.ts";
import type { AudioSocketTarget } from "./audiosocket-wire.ts";
import { SimulatedCaller } from "./caller.ts";
import type { CallResult, CallSettings, CallTarget } from "./call-types.ts";

/** One appliance as the dialplan reaches it. */
export interface FleetNode {
  /** For results and logs, e.g. "127.0.0.1:9090". */
  name: string;
  /** Its admin port, `http://host:port` (the dialplan's CURL() registration and /next). */
  admin: string;
  audiosocket: AudioSocketTarget;
}

export interface FleetOptions {
  nodes: readonly FleetNode[];
  order: PbxNodeOrder;
  /** PBX_TOKEN (or ADMIN_TOKEN) as the dialplan's ?token=; null = none. */
  token: string | null;
  /** The dialplan's CURLOPT(conntimeout)=2 and httptimeout=5, as one bound per request. */
  requestTimeoutMs?: number;
}

/** What one appliance said to a call's registration. */
export interface Attempt {
  node: string;
  /** taken = "waiting" or "joined"; full = 503 "full"; refused = any other answer; unreachable = no answer. */
  outcome: "taken" | "full" | "refused" | "unreachable";
  detail: string;
}

/** Who the call is, as the dialplan registers it. */
export interface Caller {
  callerNumber?: string;
  dnis?: string;
  tenant?: string;
}

export interface FleetCall {
  uuid: string;
  /** The appliance that took the call; null = none did (the caller heard the PBX's busy message). */
  node: FleetNode | null;
  attempts: Attempt[];
  /** The call as the caller lived it; null when no appliance took it. */
  result: CallResult | null;
  /** The taking appliance's /next answer after the call ("hangup", "transfer …"); null if it did not answer. */
  next: string | null;
}

const TAKEN = new Set(["waiting", "joined"]);

export class SimulatedPbx {
  /** Round-robin: the index the last call started at (the dialplan's GLOBAL(VB_LAST_NODE) - 1). */
  private last = -1;

  constructor(private readonly o: FleetOptions) {
    if (o.nodes.length === 0) throw new Error("a simulated PBX needs at least one appliance");
  }

  /** The appliances in the order the next call tries them. */
  private turn(): FleetNode[] {
    const n = this.o.nodes.length;
    const first = this.o.order === "round-robin" ? (this.last = (this.last + 1) % n) : 0;
    return Array.from({ length: n }, (_, i) => this.o.nodes[(first + i) % n] as FleetNode);
  }

  private url(node: FleetNode, path: string): string {
    const token = this.o.token === null ? "" : `?token=${encodeURIComponent(this.o.token)}`;
    return `${node.admin}/api/calls/${path}${token}`;
  }

  private async register(node: FleetNode, uuid: string, who: Caller): Promise<Attempt> {
    const body = new URLSearchParams();
    if (who.callerNumber !== undefined) body.set("caller", who.callerNumber);
    if (who.dnis !== undefined) body.set("dnis", who.dnis);
    if (who.tenant !== undefined) body.set("tenant", who.tenant);
    try {
      const res = await fetch(this.url(node, uuid), { method: "POST", body, signal: AbortSignal.timeout(this.o.requestTimeoutMs ?? 5000) });
      const answer = (await res.text()).trim();
      if (TAKEN.has(answer)) return { node: node.name, outcome: "taken", detail: answer };
      return { node: node.name, outcome: answer === "full" ? "full" : "refused", detail: `${res.status} ${answer.slice(0, 120)}` };
    } catch (err) {
      return { node: node.name, outcome: "unreachable", detail: err instanceof Error ? err.message : String(err) };
    }
  }

  /** Registers the call with one appliance after the other; the one that took it, or null. */
  async choose(uuid: string, who: Caller = {}): Promise<{ node: FleetNode | null; attempts: Attempt[] }> {
    const attempts: Attempt[] = [];
    for (const node of this.turn()) {
      const attempt = await this.register(node, uuid, who);
      attempts.push(attempt);
      if (attempt.outcome === "taken") return { node, attempts };
    }
    return { node: null, attempts };
  }

  /** One whole call: the choice, the AudioSocket call to the appliance that took it, then its /next. */
  async call(settings: Omit<CallSettings, "sampleRate"> & { sampleRate?: number }, who: Caller = {}): Promise<FleetCall> {
    const uuid = settings.uuid ?? crypto.randomUUID();
    const { node, attempts } = await this.choose(uuid, who);
    if (node === null) return { uuid, node, attempts, result: null, next: null };
    const result = await new SimulatedCaller({ ...settings, ...node.audiosocket, uuid }).run();
    return { uuid, node, attempts, result, next: await this.next(node, uuid) };
  }

  /**
   * One whole call over a WebSocket wire (`targetOf` gives each appliance's for this call:
   * mod_audio_stream, chan_websocket): each appliance dialled in turn until one connects; /next asked of it when
   * `askNext` (the chan_websocket dialplan does, FreeSWITCH does not).
   */
  async dial(settings: CallSettings, targetOf: (node: FleetNode, uuid: string) => CallTarget, askNext: boolean): Promise<FleetCall> {
    const uuid = settings.uuid ?? crypto.randomUUID();
    const attempts: Attempt[] = [];
    for (const node of this.turn()) {
      const result = await new SimulatedCaller({ ...settings, ...targetOf(node, uuid), uuid }).run();
      if (result.connected) {
        attempts.push({ node: node.name, outcome: "taken", detail: "connected" });
        return { uuid, node, attempts, result, next: askNext ? await this.next(node, uuid) : null };
      }
      const error = result.error ?? "not connected";
      attempts.push({ node: node.name, outcome: /HTTP 503/.test(error) ? "full" : /HTTP \d{3}/.test(error) ? "refused" : "unreachable", detail: error });
    }
    return { uuid, node: null, attempts, result: null, next: null };
  }

  private async next(node: FleetNode, uuid: string): Promise<string | null> {
    try {
      const res = await fetch(this.url(node, `${uuid}/next`), { signal: AbortSignal.timeout(this.o.requestTimeoutMs ?? 5000) });
      return (await res.text()).trim();
    } catch {
      return null;
    }
  }
}
