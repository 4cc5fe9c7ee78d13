/**
 * The page's only way to the server: same-origin fetches with the session cookie. A 401 means the
 * session ended (idle, restart): every listener of `onSignedOut` is told so the page asks to sign in.
 */
export class ApiError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

const signedOutListeners = new Set<() => void>();

export function onSignedOut(listener: () => void): () => void {
  signedOutListeners.add(listener);
  return () => signedOutListeners.delete(listener);
}

async function errorOf(res: Response): Promise<ApiError> {
  const body = await res.text();
  let message = body.trim();
  try {
    const parsed: unknown = JSON.parse(body);
    if (typeof parsed === "object" && parsed !== null && "error" in parsed && typeof parsed.error === "string") message = parsed.error;
  } catch {
    // Plain-text refusals (401, 429) are already the message.
  }
  return new ApiError(res.status, message || `${res.status} ${res.statusText}`);
}

export async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const init: RequestInit = { method, credentials: "same-origin", headers: { accept: "application/json" } };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers = { accept: "application/json", "content-type": "application/json" };
  }
  const res = await fetch(path, init);
  if (res.status === 401 && path !== "/api/session") for (const l of signedOutListeners) l();
  if (!res.ok) throw await errorOf(res);
  return (res.status === 204 ? null : await res.json()) as T;
}

export const get = <T>(path: string): Promise<T> => request<T>("GET", path);

/** `?a=1&b=x` from the given values, skipping empty ones. */
export function query(params: Record<string, string | number | null | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined && v !== "") q.set(k, String(v));
  const s = q.toString();
  return s === "" ? "" : `?${s}`;
}
