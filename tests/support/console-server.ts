/**
 * An admin server with the console's API over a store in a temp data dir, on 127.0.0.1 port 0,
 * and small clients: `get`/`send` with the bearer token, `browser` with a session cookie.
 */
import { LiveFeed } from "../../src/admin/api-live.ts";
import type { AdminAuth } from "../../src/admin/auth.ts";
import type { FleetSelf } from "../../src/admin/fleet-relay.ts";
import { startAdminServer, type AdminServer } from "../../src/admin/server.ts";
import type { Tenant } from "../../src/config/tenant.ts";
import { rootLogger } from "../../src/log.ts";
import { dirname } from "node:path";
import { HistoryReader } from "../../src/store/history-reader.ts";
import { SqliteReader } from "../../src/store/sqlite-reader.ts";
import type { Store } from "../../src/store/store.ts";

export const CONSOLE_TOKEN = "console-t0ken";
export const PBX_TOKEN = "pbx-t0ken";

export const TENANT: Tenant = {
  id: "acme", aliases: [], companyName: "Acme", language: "fr-FR", ttsVoice: "alloy", phrases: {},
  techHours: "mon-fri 09:00-18:00", timezone: "Europe/Paris", transferTarget: "200@techs",
};

export interface ConsoleServer {
  admin: AdminServer;
  base: string;
  hungUp: string[];
  get(path: string): Promise<Response>;
  send(method: string, path: string, body?: unknown): Promise<Response>;
}

export function startConsoleServer(store: Store, options: { auth?: AdminAuth; health?: Record<string, unknown>; self?: FleetSelf; liveUuids?: readonly string[] } = {}): ConsoleServer {
  const live = options.liveUuids ?? ["live-1"];
  const hungUp: string[] = [];
  const reader = new SqliteReader(store, new HistoryReader(dirname(store.path)));
  const health = (): Record<string, unknown> => options.health ?? { status: "ok", control: { ami: true, esl: null } };
  const admin = startAdminServer({
    host: "127.0.0.1", port: 0, log: rootLogger,
    tokens: { admin: CONSOLE_TOKEN, pbx: PBX_TOKEN }, auth: options.auth,
    health: () => ({ ready: true, body: health() }),
    metrics: () => [{ name: "voicebot_active_calls", help: "Calls.", type: "gauge", samples: [{ value: 1 }] }],
    console: {
      reader, self: options.self,
      live: new LiveFeed(store, reader, (uuid) => (live.includes(uuid) ? (hungUp.push(uuid), true) : false)),
      tenants: () => [TENANT], modes: () => ({ stt: "deepgram", llm: "groq", tts: "keypad" }), health, metrics: () => [],
    },
  });
  const base = `http://127.0.0.1:${admin.port}`;
  const auth = { authorization: `Bearer ${CONSOLE_TOKEN}` };
  return {
    admin, base, hungUp,
    get: (path) => fetch(`${base}${path}`, { headers: auth }),
    send: (method, path, body) => fetch(`${base}${path}`, { method, headers: { ...auth, "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) }),
  };
}
