import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { deferredTts } from "../../src/ai/tts/select.ts";
import type { TextToSpeech } from "../../src/ai/tts/types.ts";
import { parseRates } from "../../src/cli/cache.ts";
import { createProgress } from "../../src/cli/progress.ts";
import type { PhraseManifest } from "../../src/media/phrase-store.ts";
import { PHRASE_IDS } from "../../src/dialog/types.ts";
import { startFakeHttp } from "../fakes/http.ts";
import { createFakeSpeech } from "../fakes/speech.ts";

const REPO = resolve(import.meta.dir, "../..");
/** A cold eSpeak render of every phrase takes seconds on a busy machine: room for that, not a speed check. */
const SLOW = 120_000;
const PHRASES = PHRASE_IDS.length;
const root = mkdtempSync(join(tmpdir(), "voicebot-cache-cmd-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** `voicebot …` from source in a child process, with only the environment given (never the real keys). */
async function voicebot(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const child = Bun.spawn([process.execPath, join(REPO, "src/main.ts"), ...args], {
    cwd: root,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: root, ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { code, stdout, stderr };
}

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

describe("progress", () => {
  test("without a terminal: one plain line per 10 %", () => {
    const lines: string[] = [];
    const progress = createProgress({ total: 20, unit: "phrases", detail: "8000 Hz", out: { write: (t: string) => lines.push(t) }, now: () => 0 });
    for (let done = 1; done <= 20; done++) progress.update(done);
    progress.update(25);
    progress.finish();
    expect(lines.length).toBe(10);
    expect(lines[0]).toBe("phrases 10% (2/20) · 8000 Hz · 0.0 s\n");
    expect(lines[9]).toBe("phrases 100% (20/20) · 8000 Hz · 0.0 s\n");
  });

  test("on a terminal: a bar redrawn in place, ended by a newline", () => {
    const writes: string[] = [];
    let clock = 0;
    const progress = createProgress({ total: 4, unit: "phrases", detail: "8000, 16000 Hz", out: { write: (t: string) => writes.push(t), isTTY: true }, now: () => clock });
    clock = 1500;
    progress.update(2);
    progress.update(4);
    progress.finish();
    progress.update(1);
    expect(writes[0]).toBe(`\r\x1b[K[${"-".repeat(24)}] 0/4 phrases · 8000, 16000 Hz · 0.0 s`);
    expect(writes).toContain(`\r\x1b[K[${"#".repeat(12)}${"-".repeat(12)}] 2/4 phrases · 8000, 16000 Hz · 1.5 s`);
    expect(writes.at(-2)).toBe(`\r\x1b[K[${"#".repeat(24)}] 4/4 phrases · 8000, 16000 Hz · 1.5 s`);
    expect(writes.at(-1)).toBe("\n");
  });

  test("a total below 1 is refused", () => {
    expect(() => createProgress({ total: 0, unit: "x", detail: "", out: { write: () => undefined } })).toThrow("progress: total 0 is not allowed");
  });
});

describe("deferredTts", () => {
  test("speaks once the engine is up, at the engine's rate", async () => {
    let closed = false;
    const engine: TextToSpeech = {
      voiceId: "espeak-ng:fr",
      sampleRate: 16000,
      async *synthesize(text) {
        yield new Int16Array(text.length);
      },
      close: async () => {
        closed = true;
      },
    };
    const tts = deferredTts("espeak-ng:fr", Promise.resolve(engine));
    expect(tts.voiceId).toBe("espeak-ng:fr");
    const chunks: Int16Array[] = [];
    for await (const chunk of tts.synthesize("abc")) chunks.push(chunk);
    expect(chunks.map((chunk) => chunk.length)).toEqual([3]);
    expect(tts.sampleRate).toBe(16000);
    await tts.close();
    expect(closed).toBe(true);
  });

  test("an engine that fails to start fails synthesize with its error, and close still resolves", async () => {
    const tts = deferredTts("espeak-ng:xx", Promise.reject(new Error("unknown eSpeak voice xx")));
    expect(tts.sampleRate).toBe(22050);
    const speak = async (): Promise<Int16Array[]> => {
      const chunks: Int16Array[] = [];
      for await (const chunk of tts.synthesize("bonjour")) chunks.push(chunk);
      return chunks;
    };
    await expect(speak()).rejects.toThrow("unknown eSpeak voice xx");
    await tts.close();
  });
});

describe("parseRates", () => {
  test("defaults, sorts and removes repeats; refuses anything else by name", () => {
    expect(parseRates(undefined)).toEqual([8000, 16000]);
    expect(parseRates("16000, 8000,8000,48000")).toEqual([8000, 16000, 48000]);
    expect(() => parseRates("8000,abc")).toThrow('--rates "8000,abc": "abc" is not a sample rate; give integers from 8000 to 48000 Hz');
    expect(() => parseRates("800")).toThrow('"800" is not a sample rate');
    expect(() => parseRates("")).toThrow('"" is not a sample rate');
  });
});

describe("voicebot cache", () => {
  const dataDir = join(root, "data");
  const cacheDir = join(dataDir, "cache", "phrases");
  const configFile = join(root, "voicebot.env");
  const base = ["--config", configFile, "--data-dir", dataDir];

  beforeAll(async () => {
    await Bun.write(configFile, "LANGUAGE=fr-FR\n");
  });

  test("bad usage exits 2 with one clear line", async () => {
    expect(await voicebot(["cache"])).toMatchObject({ code: 2, stderr: "voicebot cache: missing subcommand: build or status (see --help)\n" });
    expect((await voicebot(["cache", "status", "--prune", ...base])).stderr).toContain("--prune applies to `cache build` only");
    expect((await voicebot(["cache", "build", "--rates", "8000,9x", ...base])).code).toBe(2);
    const help = await voicebot(["cache", "--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("voicebot cache build [--tenant ID] [--rates 8000,16000] [--prune] [--json]");
  }, SLOW);

  test("offline: builds every phrase with eSpeak at 8 and 16 kHz, with a manifest, and plain progress lines", async () => {
    const run = await voicebot(["cache", "build", ...base, "--json"]);
    expect(run.code).toBe(0);
    const summary = JSON.parse(run.stdout) as Record<string, unknown>;
    expect(summary).toMatchObject({
      voice: "espeak-ng:fr", mode: "offline (espeak-ng:fr)", language: "fr-FR", rates: [8000, 16000], phrases: PHRASES,
      rendered: 2 * PHRASES, reused: 0, files: 2 * PHRASES, dir: cacheDir, pruned: [], state: "fresh",
    });
    expect(summary.bytes).toBeGreaterThan(2 * PHRASES * 1000);
    expect(run.stderr).toContain("(was missing: never built)");
    expect(run.stderr.split("\n").filter((line) => /^phrases \d+% /.test(line)).length).toBe(10);
    expect(run.stderr).toContain(`phrases 100% (${2 * PHRASES}/${2 * PHRASES}) · 8000, 16000 Hz`);
    for (const rate of ["8000", "16000"]) expect(readdirSync(join(cacheDir, "espeak-ng_fr", rate)).length).toBe(PHRASES);
    const manifest = (await Bun.file(join(cacheDir, "manifest.json")).json()) as PhraseManifest;
    expect(manifest).toMatchObject({ voiceId: "espeak-ng:fr", language: "fr-FR", rates: [8000, 16000] });
    expect(Object.keys(manifest.phrases).length).toBe(PHRASES);
  }, SLOW);

  test("a second build reuses everything; status says fresh", async () => {
    const run = await voicebot(["cache", "build", ...base]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`${PHRASES} × 2 rates: 0 rendered, ${2 * PHRASES} reused`);
    expect(run.stderr).toContain("(was fresh: all");
    const status = await voicebot(["cache", "status", ...base, "--json"]);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ state: "fresh", voice: "espeak-ng:fr", present: 2 * PHRASES, expected: 2 * PHRASES });
  }, SLOW);

  test("another language makes status stale, naming what changed", async () => {
    const status = await voicebot(["cache", "status", ...base], { LANGUAGE: "en-US" });
    expect(status.code).toBe(1);
    expect(status.stdout).toContain("stale: built for espeak-ng:fr in fr-FR, now espeak-ng:en-us in en-US");
    expect(status.stdout).toContain("run `voicebot cache build`");
  }, SLOW);

  test("a cache directory that cannot be written exits 1 and says so", async () => {
    const blocked = join(root, "blocked");
    await Bun.write(join(blocked, "cache"), "a file where the cache directory should be");
    const run = await voicebot(["cache", "build", "--config", configFile, "--data-dir", blocked, "--rates", "8000"]);
    expect(run.code).toBe(1);
    expect(run.stderr).toStartWith(`voicebot cache build: cannot create the cache directory ${join(blocked, "cache", "phrases")}: `);
  }, SLOW);

  describe("with OpenAI TTS (local fake)", () => {
    const speech = createFakeSpeech();
    const server = startFakeHttp([speech]);
    afterAll(() => server.stop());
    const openai = { OPENAI_API_KEY: "test", OPENAI_BASE_URL: `${server.url}/v1` };

    test("builds the files from the fake's audio and prunes the offline voice on request", async () => {
      mkdirSync(join(cacheDir, "test_old-voice", "8000"), { recursive: true });
      const others = readdirSync(cacheDir).filter((name) => name !== "manifest.json").sort();
      const run = await voicebot(["cache", "build", ...base, "--rates", "8000", "--prune", "--json"], openai);
      expect(run.stderr).not.toContain("voicebot cache build:");
      expect(run.code).toBe(0);
      const summary = JSON.parse(run.stdout) as Record<string, unknown>;
      expect(summary).toMatchObject({ mode: "openai (gpt-4o-mini-tts, nova)", rendered: PHRASES, reused: 0, files: PHRASES, pruned: others });
      const voice = summary.voice as string;
      expect(voice).toContain("nova");
      expect(readdirSync(cacheDir).sort()).toEqual(["manifest.json", voice.replace(/[^A-Za-z0-9._-]/g, "_")]);
      expect(((await Bun.file(join(cacheDir, "manifest.json")).json()) as PhraseManifest).voiceId).toBe(voice);
      expect(speech.requests.length).toBe(PHRASES);
      expect(speech.requests[0]).toMatchObject({ model: "gpt-4o-mini-tts", voice: "nova" });
      expect(speech.requests[0]?.instructions).toContain("French (France)");
    }, SLOW);

    test("a 401 exits 1 with one line naming the voice and the cause, and writes nothing", async () => {
      const before = filesUnder(cacheDir).sort();
      const manifest = await Bun.file(join(cacheDir, "manifest.json")).text();
      const run = await voicebot(["cache", "build", ...base, "--rates", "8000"], { ...openai, OPENAI_API_KEY: "wrong", OPENAI_TTS_VOICE: "alloy" });
      expect(run.code).toBe(1);
      const errors = run.stderr.split("\n").filter((line) => line.startsWith("voicebot cache build:"));
      expect(errors.length).toBe(1);
      expect(errors[0]).toContain("alloy");
      expect(errors[0]).toContain("401");
      // The first failure cancels the rest: not one request per phrase.
      expect(speech.counts.requests - PHRASES).toBeLessThan(PHRASES);
      expect(filesUnder(cacheDir).sort()).toEqual(before);
      expect(await Bun.file(join(cacheDir, "manifest.json")).text()).toBe(manifest);
    }, SLOW);
  });
});

describe("cache per tenant", () => {
  test("status names the tenant's own directory and language; an unknown tenant is a usage error", async () => {
    const dataDir = join(root, "tenant-data");
    const tenantsFile = join(root, "tenants.toml");
    await Bun.write(tenantsFile, '[tenants.lisboa]\nlanguage = "pt-BR"\n');
    const env = { VOICEBOT_DATA_DIR: dataDir, TENANTS_FILE: tenantsFile };
    const status = await voicebot(["cache", "status", "--tenant", "lisboa", "--json"], env);
    expect(status.code).toBe(1);
    const report = JSON.parse(status.stdout) as { state: string; language: string; dir: string };
    expect(report).toMatchObject({ state: "missing", language: "pt-BR", dir: join(dataDir, "cache", "phrases-lisboa") });
    const unknown = await voicebot(["cache", "status", "--tenant", "nobody"], env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('--tenant "nobody" is not in');
    expect(unknown.stderr).toContain("known are default, lisboa");
  }, SLOW);
});
