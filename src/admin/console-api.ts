/**
 * The console's JSON API: every /api/ route but the dialplan's two and /api/session. The caller
 * is already authorized (auth.ts); this only routes. Bad query values are 400 with what is wrong.
 */
import type { Tenant } from "../config/tenant.ts";
import type { StoreReader } from "../store/store.ts";
import { listCalls, showCall } from "./api-calls.ts";
import type { LiveFeed } from "./api-live.ts";
import { healthView, tenantsView } from "./api-overview.ts";
import { BadQuery, problem } from "./api-params.ts";
import { editTicket, listTickets, showTicket } from "./api-tickets.ts";
import type { Access } from "./auth.ts";
import type { MetricsTrend } from "./metrics-trend.ts";
import type { MetricFamily } from "./prometheus.ts";
import type { ProviderChecks } from "./provider-checks.ts";
import { heldElsewhere, relayHangup, remoteRecording, type FleetSelf } from "./fleet-relay.ts";
import { recordingResponse } from "./recording-stream.ts";

export interface ConsoleDeps {
  /** Every read of calls and tickets (on SQLite, the history search runs off the event loop). */
  reader: StoreReader;
  /** This appliance among those sharing the store; absent = one appliance (tests, tools). */
  self?: FleetSelf;
  live: LiveFeed;
  tenants: () => readonly Tenant[];
  /** Each part's mode: keypad/offline or the cloud provider. */
  modes: () => Record<string, string>;
  /** What /healthz says (listeners, ESL/AMI, providers' circuits). */
  health: () => Record<string, unknown>;
  metrics: () => MetricFamily[];
  /** The last hour of the charted figures (made by the admin server from `metrics`). */
  trend?: MetricsTrend;
  /** The providers' probes, run on demand; absent = not offered (tests, tools). */
  providerChecks?: ProviderChecks;
}

const CALL = /^\/api\/calls\/([^/]+)(\/recording)?$/;
const TICKET = /^\/api\/tickets\/(\d+)$/;
const HANGUP = /^\/api\/live\/([^/]+)\/hangup$/;

export async function handleConsole(req: Request, url: URL, deps: ConsoleDeps, access: Access): Promise<Response> {
  try {
    return await route(req, url, deps, access);
  } catch (err) {
    if (err instanceof BadQuery) return problem(400, err.message);
    throw err;
  }
}

async function route(req: Request, url: URL, deps: ConsoleDeps, access: Access): Promise<Response> {
  const path = url.pathname;
  const read = req.method === "GET" || req.method === "HEAD";
  if (path === "/api/calls") return read ? listCalls(deps.reader, url) : notAllowed("GET");
  const call = CALL.exec(path);
  if (call) {
    if (!read) return notAllowed("GET");
    const id = decodeURIComponent(call[1] as string);
    if (call[2] === undefined) return showCall(deps.reader, id, deps.self);
    const found = await deps.reader.getCall(id);
    if (found === null) return problem(404, `no call ${JSON.stringify(id.slice(0, 64))} in the store`);
    return deps.self !== undefined && heldElsewhere(found, deps.self) ? remoteRecording(found, deps.self, req, url) : recordingResponse(found, req, url);
  }
  if (path === "/api/tickets") return read ? listTickets(deps.reader, url) : notAllowed("GET");
  const ticket = TICKET.exec(path);
  if (ticket) {
    const id = Number(ticket[1]);
    if (read) return showTicket(deps.reader, id);
    return req.method === "PATCH" ? editTicket(deps.reader, id, req, access) : notAllowed("GET, PATCH");
  }
  if (path === "/api/live") return read ? deps.live.list() : notAllowed("GET");
  if (path === "/api/live/events") return read ? deps.live.events() : notAllowed("GET");
  const hangup = HANGUP.exec(path);
  if (hangup) return req.method === "POST" ? hangupLive(deps, decodeURIComponent(hangup[1] as string)) : notAllowed("POST");
  if (path === "/api/tenants") return read ? tenantsView(deps.tenants(), deps.modes()) : notAllowed("GET");
  if (path === "/api/health") return read ? healthView(deps.health(), deps.metrics(), deps.trend?.history ?? [], deps.providerChecks?.last ?? null) : notAllowed("GET");
  if (path === "/api/health/providers") {
    if (req.method !== "POST") return notAllowed("POST");
    return deps.providerChecks ? deps.providerChecks.check() : problem(404, "provider checks are not offered by this server");
  }
  return problem(404, `not found: ${path.slice(0, 100)} (see README, "Admin API")`);
}

/** A live call of this appliance is hung up here; one another appliance holds is hung up by that one. */
async function hangupLive(deps: ConsoleDeps, uuid: string): Promise<Response> {
  const local = deps.live.hangup(uuid);
  if (local.status !== 404 || deps.self === undefined) return local;
  const call = await deps.reader.getCall(uuid);
  if (call === null || call.endedAt !== null || !heldElsewhere(call, deps.self)) return local;
  return relayHangup(call, deps.self, uuid);
}

function notAllowed(allow: string): Response {
  return new Response(JSON.stringify({ error: `method not allowed: ${allow}` }), { status: 405, headers: { allow, "content-type": "application/json" } });
}
