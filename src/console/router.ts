/** Hash routes (#/calls/12?tenant=acme): the server serves one page at /, so any link reloads to the same view. */
import { useEffect, useState } from "preact/hooks";

export interface Route {
  /** Path parts after "#/": ["calls", "12"]. */
  parts: string[];
  params: URLSearchParams;
}

function parse(hash: string): Route {
  const raw = hash.replace(/^#\/?/, "");
  const [path = "", search = ""] = raw.split("?", 2);
  return { parts: path.split("/").filter((p) => p !== "").map(decodeURIComponent), params: new URLSearchParams(search) };
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parse(location.hash));
  useEffect(() => {
    const onChange = (): void => setRoute(parse(location.hash));
    addEventListener("hashchange", onChange);
    return () => removeEventListener("hashchange", onChange);
  }, []);
  return route;
}

export function href(path: string, params: Record<string, string | number | null | undefined> = {}): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined && v !== "") q.set(k, String(v));
  const s = q.toString();
  return `#/${path}${s === "" ? "" : `?${s}`}`;
}

export function go(path: string, params: Record<string, string | number | null | undefined> = {}): void {
  location.hash = href(path, params);
}
