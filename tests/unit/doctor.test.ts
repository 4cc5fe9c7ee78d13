import { Database } from "bun:sqlite";
import { afterEach, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../src/config/load.ts";
import type { Config } from "../../src/config/schema.ts";
import type { Check, CheckResult, DoctorContext } from "../../src/install/doctor-check.ts";
import { adminTokenCheck } from "../../src/install/doctor-admin.ts";
import { dataDirCheck, databaseCheck, envFileCheck, configCheck } from "../../src/install/doctor-config.ts";
import { doctorExitCode, formatResults, runDoctor } from "../../src/install/doctor.ts";
import { firewallCheck } from "../../src/install/doctor-firewall.ts";
import { portsCheck, serviceCheck } from "../../src/install/doctor-service.ts";
import { circuitsCheck } from "../../src/install/doctor-circuits.ts";
import { osCheck } from "../../src/install/doctor-system.ts";
import { openDatabase } from "../../src/store/db.ts";
import { applyFirewall, firewallRules } from "../../src/install/firewall.ts";
import { writeManifest } from "../../src/install/manifest.ts";
import { createSystem } from "../../src/install/system-host.ts";
import { createStandins } from "../support/standins.ts";

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function temp(): string {
  const dir = mkdtempSync(join(tmpdir(), "voicebot-doctor-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function configIn(dir: string, values: Record<string, string> = {}, mode = 0o640): Config {
  const file = join(dir, "voicebot.env");
  writeFileSync(file, Object.entries(values).map(([k, v]) => `${k}=${v}`).join("\n") + "\n");
  chmodSync(file, mode);
  return loadConfig({ config: file, dataDir: join(dir, "data") }, {});
}

function ctx(config: Config | null, extra: Partial<DoctorContext> = {}): DoctorContext {
  return { config, configError: null, root: "/", env: process.env, signal: new AbortController().signal, ...extra };
}

async function one(check: Check, c: DoctorContext): Promise<CheckResult[]> {
  const r = await check.run(c);
  return Array.isArray(r) ? r : [r];
}

describe("the doctor's runner", () => {
  test("a check that never answers is one FAIL line, a check that throws another; the rest still report", async () => {
    const never: Check = { id: "never", timeoutMs: 200, run: () => new Promise(() => undefined) };
    const broken: Check = { id: "broken", run: async () => { throw new Error("boom"); } };
    const fine: Check = { id: "fine", run: async () => ({ id: "fine", status: "PASS", detail: "ok" }) };
    const results = await runDoctor([never, broken, fine], { config: null, configError: null, root: "/", env: {} }, { timeoutMs: 2000 });
    expect(results.map((r) => [r.id, r.status])).toEqual([["never", "FAIL"], ["broken", "FAIL"], ["fine", "PASS"]]);
    expect(results[0]?.detail).toMatch(/timed out after \d+ ms/);
    expect(results[1]?.detail).toContain("boom");
    expect(doctorExitCode(results)).toBe(1);
    const text = formatResults(results);
    expect(text).toMatch(/^FAIL  never {2,}timed out/m);
    expect(text).toContain("→ fix:");
    expect(text.trim().split("\n").at(-1)).toBe("1 passed, 0 warnings, 2 failed");
  });

  test("WARNs alone exit 0", () => {
    expect(doctorExitCode([{ id: "a", status: "WARN", detail: "d", fix: "f" }])).toBe(0);
  });
});

describe("host and config checks", () => {
  test("os: Debian 12 passes, another system warns", async () => {
    const root = temp();
    mkdirSync(join(root, "etc"));
    writeFileSync(join(root, "etc/os-release"), 'PRETTY_NAME="Debian GNU/Linux 13 (trixie)"\nID=debian\nVERSION_ID="13"\n');
    expect((await one(osCheck, ctx(null, { root })))[0]?.status).toBe("PASS");
    writeFileSync(join(root, "etc/os-release"), 'PRETTY_NAME="Ubuntu 24.04 LTS"\nID=ubuntu\nVERSION_ID="24.04"\n');
    const r = (await one(osCheck, ctx(null, { root })))[0];
    expect(r?.status).toBe("WARN");
    expect(r?.detail).toContain("Ubuntu 24.04");
  });

  test("config: the ConfigError line is the FAIL", async () => {
    const r = (await one(configCheck, ctx(null, { configError: 'invalid configuration: HTTP_PORT="x" (env): must be a whole number' })))[0];
    expect(r?.status).toBe("FAIL");
    expect(r?.detail).toContain('HTTP_PORT="x"');
  });

  test("env file: readable by others with a key in it is a FAIL", async () => {
    const dir = temp();
    const open = configIn(dir, { OPENAI_API_KEY: "sk-x" }, 0o644);
    const r = (await one(envFileCheck, ctx(open)))[0];
    expect(r?.status).toBe("FAIL");
    expect(r?.fix).toContain("chmod 0640");
    const closed = configIn(dir, { OPENAI_API_KEY: "sk-x" }, 0o640);
    expect((await one(envFileCheck, ctx(closed)))[0]?.status).toBe("PASS");
  });

  test("data dir: a path that cannot be a directory is a FAIL naming it", async () => {
    const dir = temp();
    writeFileSync(join(dir, "data"), "a file, not a directory");
    const r = (await one(dataDirCheck, ctx(configIn(dir))))[0];
    expect(r?.status).toBe("FAIL");
    expect(r?.detail).toContain(join(dir, "data"));
  });

  test("database: damaged, from a newer voicebot, older, and current", async () => {
    const dir = temp();
    const config = configIn(dir);
    mkdirSync(config.dataDir, { recursive: true });
    const path = join(config.dataDir, "voicebot.db");
    writeFileSync(path, "this is not SQLite at all, just text that is long enough to look like a header...");
    expect((await one(databaseCheck, ctx(config)))[0]?.status).toBe("FAIL");
    rmSync(path);
    openDatabase(config.dataDir).close();
    expect((await one(databaseCheck, ctx(config)))[0]?.status).toBe("PASS");
    const db = new Database(path);
    db.run("INSERT INTO schema_migrations (version, applied_at) VALUES (99, 0)");
    db.close();
    const future = (await one(databaseCheck, ctx(config)))[0];
    expect(future?.status).toBe("FAIL");
    expect(future?.detail).toContain("newer than this voicebot");
    const old = new Database(path);
    old.run("DELETE FROM schema_migrations WHERE version >= 2");
    old.close();
    expect((await one(databaseCheck, ctx(config)))[0]?.status).toBe("WARN");
  });
});

describe("service checks", () => {
  test("ports: a port held by another program is a FAIL with the command to find it", async () => {
    const dir = temp();
    const foreign = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    cleanups.push(() => foreign.stop(true));
    const config = configIn(dir, { PBX: "asterisk", AUDIOSOCKET_HOST: "127.0.0.1", AUDIOSOCKET_PORT: String(foreign.port), HTTP_PORT: "0" });
    const results = await one(portsCheck, ctx(config));
    const audiosocket = results.find((r) => r.id === "port.audiosocket");
    expect(audiosocket?.status).toBe("FAIL");
    expect(audiosocket?.fix).toContain(`ss -ltnp 'sport = :${foreign.port}'`);
  });

  test("systemd: inactive is a FAIL, no systemd a WARN", async () => {
    const s = createStandins();
    cleanups.push(() => s.cleanup());
    const root = temp();
    mkdirSync(join(root, "run/systemd/system"), { recursive: true });
    expect((await one(serviceCheck, ctx(null, { root, env: s.env })))[0]?.detail).toContain("not installed as a service");
    mkdirSync(join(root, "etc/systemd/system"), { recursive: true });
    writeFileSync(join(root, "etc/systemd/system/voicebot.service"), "[Service]\n");
    const r = (await one(serviceCheck, ctx(null, { root, env: s.env })))[0];
    expect(r?.status).toBe("FAIL");
    expect(r?.detail).toContain("inactive");
    expect((await one(serviceCheck, ctx(null, { root: temp(), env: s.env })))[0]?.status).toBe("WARN");
  });

  test("firewall: our nftables table loaded and matching passes; never applied warns; applied then lost fails", async () => {
    const s = createStandins({ ufw: "absent" });
    cleanups.push(() => s.cleanup());
    const root = temp();
    const config = configIn(temp(), { PBX: "asterisk", AUDIOSOCKET_ALLOW: "192.0.2.20" });
    expect((await one(firewallCheck, ctx(config, { root, env: s.env })))[0]?.status).toBe("WARN");
    const sys = createSystem({ root, dryRun: false, say: () => undefined, env: s.env });
    const state = applyFirewall(sys, firewallRules(config), null);
    writeManifest(sys, { version: "t", installedAt: "", updatedAt: "", createdUser: false, files: [], dirs: [], firewall: state, binary: "/usr/local/bin/voicebot" });
    const ok = (await one(firewallCheck, ctx(config, { root, env: s.env })))[0];
    expect(ok?.status).toBe("PASS");
    expect(ok?.detail).toContain("nftables table inet voicebot: 9090/tcp from 192.0.2.20");
    const moved = configIn(temp(), { PBX: "asterisk", AUDIOSOCKET_ALLOW: "192.0.2.99" });
    expect((await one(firewallCheck, ctx(moved, { root, env: s.env })))[0]?.detail).toContain("does not match the configuration");
    Bun.spawnSync(["nft", "delete", "table", "inet", "voicebot"], { env: s.env });
    const lost = (await one(firewallCheck, ctx(config, { root, env: s.env })))[0];
    expect(lost?.status).toBe("FAIL");
    expect(lost?.detail).toContain("is not loaded");
  });

  test("firewall: ufw rules present pass, missing fail", async () => {
    const s = createStandins({ ufw: "active" });
    cleanups.push(() => s.cleanup());
    const config = configIn(temp(), { PBX: "asterisk", AUDIOSOCKET_ALLOW: "192.0.2.20" });
    const missing = (await one(firewallCheck, ctx(config, { root: temp(), env: s.env })))[0];
    expect(missing?.status).toBe("FAIL");
    Bun.spawnSync(["ufw", "allow", "proto", "tcp", "from", "192.0.2.20", "to", "any", "port", "9090", "comment", "voicebot audiosocket"], { env: s.env });
    const present = (await one(firewallCheck, ctx(config, { root: temp(), env: s.env })))[0];
    expect(present?.status).toBe("PASS");
    expect(present?.detail).toContain("9090/tcp from 192.0.2.20");
  });
});

describe("provider circuit breakers of the running service", () => {
  test("an open breaker is a WARN naming the provider and since when; closed ones pass", async () => {
    let providers: Record<string, unknown> = {
      "deepgram:nova-3": { state: "open", failures: 3, openSince: Date.UTC(2026, 0, 1, 18, 52, 10), openUntil: Date.UTC(2026, 0, 1, 18, 52, 40), opens: 1 },
      "groq:llama": { state: "closed", failures: 0, openSince: null, openUntil: null, opens: 0 },
    };
    const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => Response.json({ status: "ok", providers }) });
    try {
      const config = configIn(temp(), { HTTP_HOST: "127.0.0.1", HTTP_PORT: String(server.port) });
      const [open, ...rest] = await one(circuitsCheck, ctx(config));
      expect(rest).toEqual([]);
      expect(open).toMatchObject({ id: "provider.circuit.deepgram:nova-3", status: "WARN" });
      expect(open?.detail).toBe("deepgram:nova-3 is skipped since 18:52:10 UTC after 3 failures in a row; next trial at 18:52:40 UTC");
      expect(open?.fix).toContain("journalctl");
      providers = { "groq:llama": { state: "closed", failures: 1, openSince: null, openUntil: null, opens: 0 } };
      expect(await one(circuitsCheck, ctx(config))).toEqual([{ id: "provider.circuit", status: "PASS", detail: "every provider answers (groq:llama)" }]);
    } finally {
      await server.stop(true);
    }
  });

  test("no running service: nothing to read, a PASS", async () => {
    const config = configIn(temp(), { HTTP_HOST: "127.0.0.1", HTTP_PORT: "1" });
    expect((await one(circuitsCheck, ctx(config)))[0]?.status).toBe("PASS");
  });
});

describe("admin-token", () => {
  test("ADMIN_TOKEN set; else the first-run token, which must be 0600", async () => {
    const dir = temp();
    expect(await adminTokenCheck.run(ctx(configIn(dir, { ADMIN_TOKEN: "x" })))).toMatchObject({ status: "PASS", detail: expect.stringContaining("ADMIN_TOKEN opens") });
    const config = configIn(dir);
    expect(await adminTokenCheck.run(ctx(config))).toMatchObject({ status: "PASS", detail: expect.stringContaining("next start") });
    mkdirSync(config.dataDir, { recursive: true });
    writeFileSync(join(config.dataDir, "admin-token"), "tok\n", { mode: 0o644 });
    expect(await adminTokenCheck.run(ctx(config))).toMatchObject({ status: "FAIL", fix: expect.stringContaining("chmod 0600") });
    chmodSync(join(config.dataDir, "admin-token"), 0o600);
    expect(await adminTokenCheck.run(ctx(config))).toMatchObject({ status: "PASS", detail: expect.stringContaining("(0600)") });
  });
});
