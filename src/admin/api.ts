/**
 * The admin port's JSON/text API for the PBX's dialplan (Asterisk's CURL()): register a call's
 * caller, DNIS and tenant before AudioSocket(), and ask what to do once voicebot has ended it.
 * Answers are short plain text, since a dialplan reads them into a variable.
 */
import { CALLER_ID_TEXT, callableNumber } from "../transports/caller-id.ts";
import { parseJsonObject } from "./json-body.ts";
import { PBX_CHECK_PATH } from "./pbx-check-route.ts";
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const MAX_BODY = 4096;

export interface CallRegistration {
  callerNumber: string | null;
  dnis: string | null;
  tenant: string | null;
}

export interface CallsApi {
  /** null = the tenant is unknown and UNKNOWN_TENANT=reject; "full" = refused, the PBX tries its next appliance (WHEN_FULL=refuse). */
  register(uuid: string, registration: CallRegistration): "joined" | "waiting" | "full" | null;
  /** The one-line next step for the dialplan. */
  next(uuid: string): string;
}

function text(body: string, status = 200): Response {
  return new Response(body, { status, headers: { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" } });
}

/**
 * The configured tokens: on the dialplan's two routes (CALL_ROUTES) either opens them, and with
 * both null they are open. The console's routes have their own rule (auth.ts).
 */
export interface ApiTokens {
  admin: string | null;
  pbx: string | null;
}

/** The refusal of PBX_TOKEN anywhere else: what it may do. */
export const PBX_TOKEN_SCOPE = `forbidden: PBX_TOKEN may only register calls (POST /api/calls/{uuid}), ask /api/calls/{uuid}/next and ask for the test call through the PBX (POST ${PBX_CHECK_PATH}); use ADMIN_TOKEN`;

/** `/api/calls/{uuid}` (POST: register) and `/api/calls/{uuid}/next` (GET): all the dialplan asks. */
const CALL_ROUTES = /^\/api\/calls\/([^/]+)(\/next)?$/;

/**
 * null when the request may go on; else the refusal: 401 without a valid token, 403 for PBX_TOKEN
 * off the dialplan's routes. The rendered dialplan carries PBX_TOKEN, and `dialplan show` prints it
 * to anyone with Asterisk CLI access: it must not open the rest of the API. Tokens come as
 * `Authorization: Bearer …` or `?token=` (what a CURL() URL can carry).
 */
export function refuseApi(req: Request, url: URL, tokens: ApiTokens): Response | null {
  if (tokens.admin === null && tokens.pbx === null) return null;
  const header = req.headers.get("authorization");
  const given = header?.startsWith("Bearer ") ? header.slice(7) : url.searchParams.get("token");
  if (given !== null && tokens.admin !== null && same(given, tokens.admin)) return null;
  if (given !== null && tokens.pbx !== null && same(given, tokens.pbx)) {
    if (CALL_ROUTES.test(url.pathname) || url.pathname === PBX_CHECK_PATH) return null;
    return text(`${PBX_TOKEN_SCOPE}\n`, 403);
  }
  return text("unauthorized: give ADMIN_TOKEN (or PBX_TOKEN on the dialplan's routes) as ?token= or a Bearer header\n", 401);
}

function same(given: string, token: string): boolean {
  return given.length === token.length && crypto.timingSafeEqual(Buffer.from(given), Buffer.from(token));
}

/** Routes `/api/calls/{uuid}` (POST) and `/api/calls/{uuid}/next` (GET); null = not an API path. */
export async function handleApi(req: Request, url: URL, api: CallsApi): Promise<Response | null> {
  const m = CALL_ROUTES.exec(url.pathname);
  if (!m) return url.pathname.startsWith("/api/") ? text("not found\n", 404) : null;
  const uuid = decodeURIComponent(m[1] as string);
  if (!UUID.test(uuid)) return text(`call id ${JSON.stringify(uuid.slice(0, 64))} is not a UUID (8-4-4-4-12 hex)\n`, 400);
  const id = uuid.toLowerCase();
  if (m[2]) {
    if (req.method !== "GET") return text("method not allowed: GET /api/calls/{uuid}/next\n", 405);
    return text(api.next(id));
  }
  if (req.method !== "POST") return text("method not allowed: POST /api/calls/{uuid}\n", 405);
  const fields = await readFields(req);
  if (typeof fields === "string") return text(`${fields}\n`, 400);
  const registration: CallRegistration = { callerNumber: null, dnis: null, tenant: null };
  for (const [key, target] of [["caller", "callerNumber"], ["dnis", "dnis"], ["tenant", "tenant"]] as const) {
    const v = fields.get(key)?.trim() ?? "";
    if (v === "") continue;
    if (!CALLER_ID_TEXT.test(v)) return text(`${key} ${JSON.stringify(v.slice(0, 80))} is not allowed: 1 to 64 letters, digits, + * # @ . _ - or spaces\n`, 400);
    registration[target] = target === "callerNumber" ? callableNumber(v) : v;
  }
  const outcome = api.register(id, registration);
  if (outcome === null) return text(`tenant ${JSON.stringify(registration.tenant)} is unknown (UNKNOWN_TENANT=reject)\n`, 404);
  // The dialplan compares the whole body: "full" alone, no line end, like "joined" and "waiting".
  if (outcome === "full") return text(outcome, 503);
  return text(outcome);
}

/** Form fields (what CURL() posts) or a JSON object of strings. */
async function readFields(req: Request): Promise<Map<string, string> | string> {
  const length = Number(req.headers.get("content-length") ?? "0");
  if (length > MAX_BODY) return `body too large: ${length} bytes, at most ${MAX_BODY}`;
  const body = await req.text();
  if (body.length > MAX_BODY) return `body too large: at most ${MAX_BODY} bytes`;
  if ((req.headers.get("content-type") ?? "").includes("application/json")) {
    const parsed = parseJsonObject(body);
    if (typeof parsed === "string") return parsed;
    const out = new Map<string, string>();
    for (const [k, v] of Object.entries(parsed)) if (typeof v === "string" || typeof v === "number") out.set(k, String(v));
    return out;
  }
  return new Map(new URLSearchParams(body));
}
