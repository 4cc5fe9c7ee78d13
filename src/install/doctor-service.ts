/** The service on this host: its ports, and its systemd unit. */
import type { Config } from "../config/schema.ts";
import type { Check, CheckResult, DoctorContext } from "./doctor-check.ts";
import { fail, pass, warn } from "./doctor.ts";
import { fetchHealth, type Health } from "./health.ts";
import { createSystem } from "./system-host.ts";
import { INSTALL_PATHS, UNIT } from "./layout.ts";
import { hasSystemd, serviceState } from "./systemd.ts";

interface Listener {
  name: "audiosocket" | "websocket" | "audiostream" | "asp" | "admin";
  host: string;
  port: number;
}

function listeners(c: Config): Listener[] {
  const out: Listener[] = [];
  if (c.pbx !== "freeswitch") out.push({ name: "audiosocket", ...c.audiosocket }, { name: "websocket", ...c.websocket });
  if (c.pbx !== "asterisk") out.push({ name: "audiostream", ...c.audiostream });
  out.push({ name: "asp", ...c.asp }, { name: "admin", ...c.http });
  return out;
}

function tryBind(host: string, port: number): string | null {
  try {
    const server = Bun.listen({ hostname: host, port, socket: { data() {} } });
    server.stop(true);
    return null;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? (err instanceof Error ? err.message : String(err));
  }
}

function heldByUs(health: Health | null, l: Listener): boolean {
  if (!health) return false;
  if (l.name === "admin") return true;
  const bound = health.listeners?.[l.name];
  return bound !== undefined && bound.endsWith(`:${l.port}`);
}

export const portsCheck: Check = {
  id: "ports",
  async run(ctx: DoctorContext) {
    const c = ctx.config;
    if (!c) return fail("ports", "unknown: the configuration does not load", "fix the configuration first (see the config line)");
    const health = await fetchHealth(c, ctx.signal);
    const results: CheckResult[] = [];
    for (const l of listeners(c)) {
      const id = `port.${l.name}`;
      const where = `${l.host}:${l.port}`;
      if (l.port === 0) {
        results.push(pass(id, `${where}: a free port is chosen at start`));
        continue;
      }
      const error = tryBind(l.host, l.port);
      if (error === null) results.push(pass(id, `${where} is free for voicebot`));
      else if (heldByUs(health, l)) results.push(pass(id, `${where} is held by the running voicebot`));
      else if (error === "EADDRINUSE") results.push(fail(id, `${where} is taken by another program`, `see which: sudo ss -ltnp 'sport = :${l.port}'; stop it or change ${l.name === "admin" ? "HTTP_PORT" : `${l.name.toUpperCase()}_PORT`}`));
      else results.push(fail(id, `${where} cannot be bound (${error})`, `check that ${l.host} is an address of this host`));
    }
    return results;
  },
};

export const serviceCheck: Check = {
  id: "service",
  async run(ctx) {
    const sys = createSystem({ root: ctx.root, dryRun: true, say: () => undefined, env: ctx.env });
    if (!hasSystemd(sys)) {
      return warn("service", "systemd is not running here (a container?): nothing supervises voicebot", "run it under your supervisor: voicebot serve --config /etc/voicebot/voicebot.env");
    }
    if (!sys.exists(`${INSTALL_PATHS.unitDir}/${UNIT}`)) {
      return warn("service", "voicebot is not installed as a service on this host", "sudo voicebot install (or run `voicebot serve` under your own supervisor)");
    }
    const state = serviceState(sys);
    const detail = `voicebot.service is ${state.enabled} and ${state.active}`;
    if (state.active !== "active") return fail("service", detail, "sudo systemctl start voicebot; then: journalctl -u voicebot -n 50");
    if (state.enabled !== "enabled") return warn("service", detail, "sudo systemctl enable voicebot (else it does not start at boot)");
    return pass("service", detail);
  },
};

export function serviceChecks(): Check[] {
  return [portsCheck, serviceCheck];
}
