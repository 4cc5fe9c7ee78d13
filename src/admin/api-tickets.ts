/** GET /api/tickets (filters, pages), GET /api/tickets/{id}, PATCH /api/tickets/{id}. */
import type { StoreReader, TicketEdit } from "../store/store.ts";
import { TICKET_STATUSES } from "../store/store.ts";
import { BadQuery, json, oneOf, pageLimit, problem, textParam } from "./api-params.ts";
import type { Access } from "./auth.ts";
import { readJson } from "./json-body.ts";

const MAX_NOTES = 10_000;
const MAX_ASSIGNEE = 64;

export async function listTickets(reader: StoreReader, url: URL): Promise<Response> {
  const rawBefore = url.searchParams.get("before");
  if (rawBefore !== null && !/^\d+$/.test(rawBefore)) throw new BadQuery(`before ${JSON.stringify(rawBefore.slice(0, 40))} is not a ticket id (the "next" of a page)`);
  const page = await reader.pageTickets({
    status: oneOf(url, "status", TICKET_STATUSES),
    tenant: textParam(url, "tenant"),
    problemType: textParam(url, "problem"),
  }, pageLimit(url), rawBefore === null ? null : Number(rawBefore));
  return json(page);
}

export async function showTicket(reader: StoreReader, id: number): Promise<Response> {
  const ticket = await reader.getTicket(id);
  return ticket === null ? problem(404, `no ticket ${id} in the store`) : json(ticket);
}

/** {status?, notes?, assignee?}: only these; each change is kept with who and when. */
export async function editTicket(reader: StoreReader, id: number, req: Request, access: Access): Promise<Response> {
  const body = await readJson(req, 16_384);
  if (typeof body === "string") return problem(400, body);
  const edit = parseEdit(body);
  if (typeof edit === "string") return problem(400, edit);
  const updated = await reader.editTicket(id, edit, access.who, Date.now());
  return updated === null ? problem(404, `no ticket ${id} in the store`) : json(await reader.getTicket(id));
}

function parseEdit(body: Record<string, unknown>): TicketEdit | string {
  const edit: TicketEdit = {};
  for (const key of Object.keys(body)) {
    if (key !== "status" && key !== "notes" && key !== "assignee") return `field ${JSON.stringify(key.slice(0, 40))} cannot be changed: only status, notes and assignee`;
  }
  if (body.status !== undefined) {
    if (typeof body.status !== "string" || !(TICKET_STATUSES as readonly string[]).includes(body.status)) {
      return `status ${JSON.stringify(body.status)} is not allowed: one of ${TICKET_STATUSES.join(", ")}`;
    }
    edit.status = body.status;
  }
  for (const [name, max] of [["notes", MAX_NOTES], ["assignee", MAX_ASSIGNEE]] as const) {
    const v = body[name];
    if (v === undefined) continue;
    if (v !== null && typeof v !== "string") return `${name} must be a string or null`;
    const t = v?.trim() ?? "";
    if (t.length > max) return `${name} is too long: at most ${max} characters`;
    edit[name] = t === "" ? null : t;
  }
  if (Object.keys(edit).length === 0) return "nothing to change: give status, notes or assignee";
  return edit;
}
