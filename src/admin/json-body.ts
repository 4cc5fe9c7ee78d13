/** JSON request bodies of the admin API: one object, or what is wrong with it. */

/** `body` parsed as a JSON object, or the reason it is not one. */
export function parseJsonObject(body: string): Record<string, unknown> | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return "body is not valid JSON";
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return "JSON body must be an object";
  return parsed as Record<string, unknown>;
}

/** A JSON object body of at most `max` bytes (default 4 KiB), or what is wrong with it. */
export async function readJson(req: Request, max = 4096): Promise<Record<string, unknown> | string> {
  const body = await req.text();
  if (body.length > max) return `body too large: at most ${max} bytes`;
  return parseJsonObject(body);
}
