import { describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { join } from "node:path";
import { E2E_TIMEOUT_MS, runCli, startServer } from "./harness.ts";

interface SimJson {
  uuid: string;
  hungUpBy: string;
  utterances: { startMs: number; durationMs: number }[];
}

async function simulate(port: number, args: string[]): Promise<SimJson> {
  const r = await runCli(["simulate", "--audiosocket", `127.0.0.1:${port}`, "--json", ...args]);
  if (r.code !== 0) throw new Error(`simulate exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
  return JSON.parse(r.stdout) as SimJson;
}

describe("limits, timers and configuration of dist/voicebot serve", () => {
  test("above MAX_CONCURRENT_CALLS a caller hears the busy phrase, then 0x00", async () => {
    const server = await startServer({}, ["--max-calls", "1"]);
    try {
      const first = simulate(server.audiosocket.port, ["--seconds", "12"]);
      await Bun.sleep(1500);
      const second = await simulate(server.audiosocket.port, ["--seconds", "30"]);
      expect(second.hungUpBy).toBe("server");
      expect(second.utterances).toHaveLength(1);
      expect((await first).hungUpBy).toBe("caller");
      const shown = await runCli(["calls", "show", second.uuid, "--json", "--data-dir", server.dataDir]);
      const call = JSON.parse(shown.stdout) as { endReason: string; tickets: unknown[] };
      expect(call.endReason).toBe("busy");
      expect(call.tickets).toHaveLength(0);
      const metrics = await (await fetch(`${server.http}/metrics`)).text();
      expect(metrics).toContain("voicebot_calls_rejected_busy_total 1");
    } finally {
      await server.stop();
    }
  }, E2E_TIMEOUT_MS);

  test("SIGTERM with STOP_DRAIN_TIMEOUT: the live call goes on to its end, a new one hears all-lines-busy", async () => {
    const server = await startServer({ STOP_DRAIN_TIMEOUT: "60" });
    const live = simulate(server.audiosocket.port, ["--seconds", "8"]);
    await Bun.sleep(2000);
    const stopped = server.stop();
    await Bun.sleep(500);
    const late = await simulate(server.audiosocket.port, ["--seconds", "30"]);
    expect(late.hungUpBy).toBe("server");
    expect(late.utterances).toHaveLength(1);
    expect((await live).hungUpBy).toBe("caller");
    expect(await stopped).toBe(0);
    expect(server.logs()).toContain("stopping: taking no new calls, letting live ones finish");
    expect(server.logs()).toContain("stopping: flushing recordings");
  }, E2E_TIMEOUT_MS);

  test("a second SIGTERM hangs up the live call at once: its open ticket is abandoned, the call ends as shutdown", async () => {
    const server = await startServer({ STOP_DRAIN_TIMEOUT: "60" });
    try {
      const live = simulate(server.audiosocket.port, ["--seconds", "30"]);
      const tickets = (): { status: string }[] => {
        const db = new Database(join(server.dataDir, "voicebot.db"), { readonly: true });
        try {
          return db.query<{ status: string }, []>("SELECT status FROM tickets").all();
        } finally {
          db.close();
        }
      };
      for (let i = 0; i < 200 && tickets().length === 0; i++) await Bun.sleep(50);
      expect(tickets()).toEqual([{ status: "open" }]);
      server.signal("SIGTERM");
      await Bun.sleep(300);
      server.signal("SIGTERM");
      expect(await server.exited).toBe(0);
      const sim = await live;
      expect(sim.hungUpBy).toBe("server");
      expect(server.logs()).toContain("second signal: hanging up the live calls now");
      const shown = await runCli(["calls", "show", sim.uuid, "--json", "--data-dir", server.dataDir]);
      const call = JSON.parse(shown.stdout) as { endReason: string; tickets: { status: string }[]; events: { kind: string; detail: string }[] };
      expect(call.endReason).toBe("shutdown");
      expect(call.tickets.map((t) => t.status)).toEqual(["abandoned"]);
      expect(call.events).toContainEqual(expect.objectContaining({ kind: "hangup", detail: "server" }));
    } finally {
      await server.stop();
    }
  }, E2E_TIMEOUT_MS);

  test("a silent caller is asked if still there, then politely hung up on", async () => {
    const server = await startServer({ SILENCE_WARNING_TIMEOUT: "1", SILENCE_HANGUP_TIMEOUT: "2" });
    try {
      const sim = await simulate(server.audiosocket.port, ["--seconds", "90"]);
      expect(sim.hungUpBy).toBe("server");
      const shown = await runCli(["calls", "show", sim.uuid, "--json", "--data-dir", server.dataDir]);
      const call = JSON.parse(shown.stdout) as { endReason: string; turns: { speaker: string; text: string }[]; tickets: { status: string }[] };
      expect(call.endReason).toBe("silence");
      const said = call.turns.filter((t) => t.speaker === "bot").map((t) => t.text);
      expect(said.some((t) => /toujours là/.test(t))).toBe(true);
      expect(call.tickets[0]?.status).toBe("abandoned");
    } finally {
      await server.stop();
    }
  }, E2E_TIMEOUT_MS);

  test("MAX_CALL_DURATION ends a long call with a goodbye", async () => {
    const server = await startServer({ MAX_CALL_DURATION: "3", SILENCE_WARNING_TIMEOUT: "60", SILENCE_HANGUP_TIMEOUT: "120" });
    try {
      const sim = await simulate(server.audiosocket.port, ["--seconds", "60"]);
      expect(sim.hungUpBy).toBe("server");
      const shown = await runCli(["calls", "show", sim.uuid, "--json", "--data-dir", server.dataDir]);
      expect((JSON.parse(shown.stdout) as { endReason: string }).endReason).toBe("max-duration");
    } finally {
      await server.stop();
    }
  }, E2E_TIMEOUT_MS);

  test("a bad value stops start-up with one line naming it, exit status 2", async () => {
    const r = await runCli(["serve", "--data-dir", "/tmp/voicebot-never-created"], { AUDIOSOCKET_PORT: "abc" });
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('AUDIOSOCKET_PORT="abc"');
    expect(lines[0]).toContain("whole number from 0 to 65535");

    const flag = await runCli(["serve", "--audiosocket", "nowhere"]);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain('--audiosocket="nowhere"');

    const lang = await runCli(["serve"], { LANGUAGE: "de-DE" });
    expect(lang.code).toBe(2);
    expect(lang.stderr).toContain("fr-FR, en-US, pt-BR");
  }, E2E_TIMEOUT_MS);

  test("every command answers --help", async () => {
    for (const cmd of ["serve", "simulate", "bench", "calls", "tickets", "version"]) {
      const r = await runCli([cmd, "--help"]);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain("Usage: voicebot");
    }
    expect((await runCli(["nonsense"])).code).toBe(2);
  }, E2E_TIMEOUT_MS);
});
