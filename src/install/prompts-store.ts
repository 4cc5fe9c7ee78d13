/**
 * install's question about the store: this host's SQLite (one appliance), or a PostgreSQL shared
 * by several appliances. A PostgreSQL URL is kept only once a connection with it worked; the
 * password is typed like a key (never drawn), and this appliance's NODE_ID is asked too.
 */
import { confirm, isCancel, log, password, select, spinner, text } from "@clack/prompts";
import { hostname } from "node:os";
import type { Readable, Writable } from "node:stream";
import { maskStoreUrl, parseStoreUrl } from "../config/store-url.ts";
import type { Answers } from "./answers.ts";
import type { PromptIo } from "./prompts.ts";
import { probeStoreUrl } from "./store-probe.ts";

type Io = { input?: Readable; output?: Writable };

function answer<T>(value: T | symbol, cancelled: () => Error): T {
  if (isCancel(value)) throw cancelled();
  return value as T;
}

/** Throws what `cancelled` makes on Ctrl-C (install's InstallCancelled). */
export async function askStore(a: Answers, io: Pick<PromptIo, "checkStore">, common: Io, cancelled: () => Error): Promise<void> {
  const current = a.get("STORE_URL") ?? "";
  const shared = /^postgres(ql)?:/i.test(current);
  const where = answer(await select({
    ...common,
    message: "Where are calls and tickets kept?",
    initialValue: shared ? "postgres" : "sqlite",
    options: [
      { value: "sqlite", label: "On this host (SQLite in the data dir): one appliance" },
      { value: "postgres", label: "In a PostgreSQL shared by several appliances (STORE_URL)" },
    ],
  }), cancelled);
  if (where === "sqlite") {
    a.set("STORE_URL", "");
    return;
  }
  const check = io.checkStore ?? probeStoreUrl;
  for (;;) {
    const typed = String(answer(await text({
      ...common,
      message: `PostgreSQL URL without the password, postgres://USER@HOST:PORT/DATABASE[?sslmode=require]${shared ? ` (Enter keeps ${maskStoreUrl(current)})` : ""}`,
      validate: (v) => urlProblem((v ?? "").trim(), shared),
    }), cancelled) ?? "").trim();
    const url = typed === "" ? current : await withPassword(typed, common, cancelled);
    const spin = spinner(common);
    spin.start("connecting to PostgreSQL");
    const result = await check(url);
    spin.stop(`PostgreSQL ${result.ok ? "OK" : "refused"}: ${result.detail}`);
    if (result.ok) {
      a.set("STORE_URL", url);
      break;
    }
    if (!answer(await confirm({ ...common, message: "Try another URL? (No keeps the store as it was)", initialValue: true }), cancelled)) {
      log.info(`The store stays ${shared ? maskStoreUrl(current) : "SQLite on this host"}.`, common);
      return;
    }
  }
  const id = String(answer(await text({
    ...common,
    message: "This appliance's NODE_ID among those sharing the store (stamped on its calls; unique)",
    initialValue: a.get("NODE_ID") || hostname(),
    validate: (v) => (/^[A-Za-z0-9._-]{1,100}$/.test((v ?? "").trim()) ? undefined : "1-100 letters, digits and . _ -"),
  }), cancelled) ?? "").trim();
  a.set("NODE_ID", id);
}

function urlProblem(v: string, hasCurrent: boolean): string | undefined {
  if (v === "") return hasCurrent ? undefined : "a postgres:// URL (or Ctrl-C, then choose SQLite)";
  try {
    const t = parseStoreUrl(v);
    if (t.kind !== "postgres") return "a postgres:// or postgresql:// URL";
    return new URL(v).password === "" ? undefined : "leave the password out: it is asked next, and never shown";
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/** The password, asked like a key, goes into the URL (percent-encoded). */
async function withPassword(url: string, common: Io, cancelled: () => Error): Promise<string> {
  const secret = String(answer(await password({ ...common, message: "Its password (never shown; Enter: none)" }), cancelled) ?? "");
  if (secret === "") return url;
  const u = new URL(url);
  u.password = encodeURIComponent(secret);
  return u.toString();
}
