/**
 * Where calls and tickets are kept (STORE_URL) and who this appliance is among those sharing a
 * store: NODE_ID, stamped on every call it takes, and NODE_URL, its admin address as the others
 * reach it (they fetch this appliance's recordings there).
 */
import { isIP } from "node:net";
import { hostname } from "node:os";
import type { Lookup } from "./load-pbx.ts";
import { ConfigError, type Config, type HostPort } from "./schema.ts";
import { maskStoreUrl, parseStoreUrl, type StoreTarget } from "./store-url.ts";

type StoreConfig = Pick<Config, "store" | "nodeId" | "nodeUrl">;

const NODE_ID = /^[A-Za-z0-9._-]{1,100}$/;

export function loadStoreSettings(lookup: Lookup, http: HostPort): StoreConfig {
  const storeRaw = lookup("STORE_URL");
  let store: StoreTarget;
  try {
    store = parseStoreUrl(storeRaw?.value ?? "");
  } catch (err) {
    const raw = storeRaw ?? { variable: "STORE_URL", value: "", source: "default" };
    throw new ConfigError(raw.variable, maskStoreUrl(raw.value), raw.source, err instanceof Error ? err.message : String(err));
  }
  if (storeRaw && store.kind === "sqlite" && store.path !== null) {
    throw new ConfigError(storeRaw.variable, storeRaw.value, storeRaw.source, "sqlite: takes no path here (the database is the data dir's voicebot.db, VOICEBOT_DATA_DIR); use sqlite: or a postgres:// URL");
  }

  const idRaw = lookup("NODE_ID");
  const nodeId = checkNodeId(idRaw?.value.trim() || hostname(), idRaw?.variable ?? "NODE_ID", idRaw?.source ?? "default (the host name)");

  const urlRaw = lookup("NODE_URL");
  const nodeUrl = urlRaw?.value.trim() ? adminUrl(urlRaw) : defaultNodeUrl(lookup, http);
  return { store, nodeId, nodeUrl };
}

/** NODE_ID's rule, also for a node named on the command line (`store copy --node`). */
export function checkNodeId(nodeId: string, variable: string, source: string): string {
  if (!NODE_ID.test(nodeId)) {
    throw new ConfigError(variable, nodeId, source, "must be 1-100 letters, digits and . _ - (unique among the appliances sharing a store)");
  }
  return nodeId;
}

/** NODE_URL's rule, also for `store copy --node-url`. */
export function adminUrl(raw: { value: string; source: string; variable: string }): string {
  const v = raw.value.trim();
  try {
    const u = new URL(v);
    if ((u.protocol === "http:" || u.protocol === "https:") && u.username === "" && u.search === "" && u.hash === "") return v.replace(/\/+$/, "");
  } catch {
    // Said below.
  }
  throw new ConfigError(raw.variable, raw.value, raw.source, "must be this appliance's admin base URL as the others reach it, http(s)://HOST:PORT (no user, query or fragment)");
}

/** http://PUBLIC_HOST:HTTP_PORT; without PUBLIC_HOST the admin listener's own address, unless it is a wildcard or loopback (then the host name). */
function defaultNodeUrl(lookup: Lookup, http: HostPort): string {
  const listening = http.host;
  const specific = listening !== "0.0.0.0" && listening !== "::" && !listening.startsWith("127.") && listening !== "::1" && listening !== "localhost";
  const host = lookup("PUBLIC_HOST")?.value.trim() || (specific ? listening : hostname());
  return `http://${isIP(host) === 6 ? `[${host}]` : host}:${http.port}`;
}
