/**
 * Recordings and live calls stay on the appliance that took the call; with a store shared by
 * several appliances, any of them lists every call. A recording of another appliance is fetched
 * from that one's admin API (the call row's node_url) with the shared ADMIN_TOKEN and streamed
 * through, Range included; a console hang-up of another appliance's live call is sent to it.
 */
import type { CallSummary } from "../store/store.ts";
import { problem } from "./api-params.ts";

/** This appliance, as the console needs it to tell its own calls from the others'. */
export interface FleetSelf {
  nodeId: string;
  /** The ADMIN_TOKEN every appliance shares; null = other appliances' recordings cannot be fetched. */
  adminToken: string | null;
}

const FETCH_TIMEOUT_MS = 10_000;
const PASSED_REQUEST_HEADERS = ["range", "if-range"];
const PASSED_RESPONSE_HEADERS = ["content-type", "content-length", "content-range", "accept-ranges", "content-disposition", "cache-control"];

/** True when the call's recordings are on another appliance that can be asked for them. */
export function heldElsewhere(call: CallSummary, self: FleetSelf): boolean {
  return call.node !== null && call.node !== self.nodeId && call.nodeUrl !== null;
}

/** POST /api/live/{uuid}/hangup on the appliance holding the call; its answer is passed back. */
export async function relayHangup(call: CallSummary, self: FleetSelf, uuid: string): Promise<Response> {
  if (self.adminToken === null) return problem(502, `call ${uuid} is live on appliance ${call.node}: set the same ADMIN_TOKEN on every appliance to hang it up from here`);
  try {
    const answer = await fetch(new URL(`/api/live/${encodeURIComponent(uuid)}/hangup`, call.nodeUrl as string), {
      method: "POST", headers: { authorization: `Bearer ${self.adminToken}` }, signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
    });
    return new Response(answer.body, { status: answer.status, headers: { "content-type": answer.headers.get("content-type") ?? "application/json" } });
  } catch (err) {
    return problem(502, `call ${uuid} is live on appliance ${call.node} (${call.nodeUrl}), which did not answer: ${err instanceof Error ? err.message : String(err)}`);
  }
}

export async function remoteRecording(call: CallSummary, self: FleetSelf, req: Request, url: URL): Promise<Response> {
  if (self.adminToken === null) return problem(502, `call ${call.id}'s recording is on appliance ${call.node}: set the same ADMIN_TOKEN on every appliance to fetch it from here`);
  const target = new URL(`/api/calls/${call.id}/recording${url.search}`, call.nodeUrl as string);
  const headers = new Headers({ authorization: `Bearer ${self.adminToken}` });
  for (const name of PASSED_REQUEST_HEADERS) {
    const v = req.headers.get(name);
    if (v !== null) headers.set(name, v);
  }
  let answer: Response;
  try {
    answer = await fetch(target, { method: req.method === "HEAD" ? "HEAD" : "GET", headers, signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
  } catch (err) {
    return problem(502, `call ${call.id}'s recording is on appliance ${call.node} (${call.nodeUrl}), which did not answer: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (answer.status === 401 || answer.status === 403) {
    await answer.body?.cancel();
    return problem(502, `appliance ${call.node} (${call.nodeUrl}) refused this appliance's ADMIN_TOKEN: every appliance sharing the store needs the same one`);
  }
  const out = new Headers();
  for (const name of PASSED_RESPONSE_HEADERS) {
    const v = answer.headers.get(name);
    if (v !== null) out.set(name, v);
  }
  return new Response(answer.body, { status: answer.status, headers: out });
}
