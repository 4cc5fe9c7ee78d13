/** `voicebot bench --dtmf`: the detector's figures as a script reads them, and its flags checked first. */
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { benchCommand } from "../../src/cli/bench.ts";

const REPO = join(import.meta.dir, "../..");

describe("bench --dtmf", () => {
  test("refuses the call-bench flags before anything starts", async () => {
    await expect(benchCommand.run(["--dtmf", "--calls", "5"])).rejects.toThrow("--dtmf benches the in-band DTMF detector offline: it does not go with --calls");
  });

  test("--json: every digit of the sets, no digit from speech or the bot's phrases, a cost per frame", async () => {
    const child = Bun.spawn([process.execPath, join(REPO, "src/main.ts"), "bench", "--dtmf", "--seconds", "20", "--json"], { stdout: "pipe", stderr: "pipe" });
    const [out, code] = await Promise.all([new Response(child.stdout).text(), child.exited]);
    expect(code).toBe(0);
    const f = JSON.parse(out) as {
      ok: boolean;
      digitSets: { rate: number; tones: number; detected: number; extra: number }[];
      digitSetsUnderEcho: { sets: { detected: number; tones: number }[] };
      speech: { results: { rate: number; seconds: number; falseDigits: number }[] };
      botPhrases: { results: { falseDigits: number }[] };
      cost: { rate: number; nsPerFrameMean: number }[];
    };
    expect(f.ok).toBe(true);
    expect(f.digitSets.map((s) => s.rate)).toEqual([8000, 8000, 8000, 16000, 16000, 16000]);
    for (const s of [...f.digitSets, ...f.digitSetsUnderEcho.sets]) expect(s.detected).toBe(s.tones);
    expect(f.speech.results.every((s) => s.seconds >= 20 && s.falseDigits === 0)).toBe(true);
    expect(f.botPhrases.results.every((s) => s.falseDigits === 0)).toBe(true);
    // Loose: only that it was measured and is far from a frame's 20 ms.
    for (const c of f.cost) expect(c.nsPerFrameMean).toBeGreaterThan(0);
    for (const c of f.cost) expect(c.nsPerFrameMean).toBeLessThan(2_000_000);
  }, 120_000);
});
