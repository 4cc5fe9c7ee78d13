/** Value checks more than one settings loader shares. */
import type { RawValue } from "./load-pbx.ts";
import { ConfigError } from "./schema.ts";

/** A model or voice name: letters, digits and . _ - / : (what vendors use), else the default. */
export function name(raw: RawValue | undefined, fallback: string): string {
  const v = raw?.value.trim();
  if (!raw || !v) return fallback;
  if (!/^[A-Za-z0-9][A-Za-z0-9._:/-]{0,99}$/.test(v)) {
    throw new ConfigError(raw.variable, raw.value, raw.source, "must be a model or voice name: letters, digits and . _ - / : (at most 100)");
  }
  return v;
}

export function url(raw: RawValue | undefined): string | null {
  const v = raw?.value.trim();
  if (!raw || !v) return null;
  try {
    const u = new URL(v);
    if (!["http:", "https:", "ws:", "wss:"].includes(u.protocol)) throw new Error("scheme");
  } catch {
    throw new ConfigError(raw.variable, raw.value, raw.source, "must be an http(s) or ws(s) URL");
  }
  return v;
}

/** One of `allowed` (case-insensitive), null when unset or empty. */
export function oneOf<T extends string>(raw: RawValue | undefined, allowed: readonly T[]): T | null {
  const value = raw?.value.trim().toLowerCase() ?? "";
  if (!raw || value === "") return null;
  if (!(allowed as readonly string[]).includes(value)) {
    throw new ConfigError(raw.variable, raw.value, raw.source, `must be one of ${allowed.join(", ")}`);
  }
  return value as T;
}
