/** Query-string parsing shared by the console's list routes: each bad value is a 400 naming it. */
export class BadQuery extends Error {}

export const MAX_PAGE = 200;

export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return Response.json(body, { status, headers: { "cache-control": "no-store", ...headers } });
}

export function problem(status: number, message: string): Response {
  return json({ error: message }, status);
}

export function pageLimit(url: URL): number {
  const raw = url.searchParams.get("limit");
  if (raw === null) return 50;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > MAX_PAGE) throw new BadQuery(`limit ${JSON.stringify(raw)} is not allowed: a whole number from 1 to ${MAX_PAGE}`);
  return n;
}

/** A short trimmed text filter (≤ 128 characters), or undefined when absent or empty. */
export function textParam(url: URL, name: string): string | undefined {
  const raw = url.searchParams.get(name)?.trim();
  if (raw === undefined || raw === "") return undefined;
  if (raw.length > 128) throw new BadQuery(`${name} is too long: at most 128 characters`);
  return raw;
}

/** A date as epoch ms: a number of ms, or anything ISO 8601 (2026-12-06, 2026-12-06T10:00Z). */
export function timeParam(url: URL, name: string): number | undefined {
  const raw = textParam(url, name);
  if (raw === undefined) return undefined;
  const t = /^\d+$/.test(raw) ? Number(raw) : Date.parse(raw);
  if (!Number.isFinite(t)) throw new BadQuery(`${name} ${JSON.stringify(raw)} is not a date: give ISO 8601 (2026-12-06 or 2026-12-06T10:00:00Z) or epoch ms`);
  return t;
}

export function oneOf<T extends string>(url: URL, name: string, allowed: readonly T[]): T | undefined {
  const raw = textParam(url, name);
  if (raw === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(raw)) throw new BadQuery(`${name} ${JSON.stringify(raw)} is not allowed: one of ${allowed.join(", ")}`);
  return raw as T;
}
