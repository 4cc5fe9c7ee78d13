/**
 * `voicebot bench --mp3`: how fast recordings become MP3. One worker alone (the speed per worker,
 * the issue's ≥ 40x real time), then the whole pool on a batch (what a nightly run gets from all cores).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { defaultMp3Workers, Mp3Pool } from "../media/mp3-pool.ts";
import { printJson } from "./command.ts";

/** Speech-like test audio: voiced bursts with a moving pitch, pauses, and a little noise; not silence (which encodes for free). */
function speechLike(rate: number, seconds: number, seed: number): Int16Array {
  const out = new Int16Array(rate * seconds);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < out.length; i++) {
    const t = i / rate;
    const talking = Math.sin(2 * Math.PI * 0.4 * t + seed) > -0.3;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const noise = ((x >>> 0) / 4294967296 - 0.5) * 400;
    const pitch = 120 + 40 * Math.sin(2 * Math.PI * 0.7 * t);
    const voice = talking ? 5000 * Math.sin(2 * Math.PI * pitch * t) + 2500 * Math.sin(2 * Math.PI * pitch * 3.1 * t) : 0;
    out[i] = Math.max(-32768, Math.min(32767, Math.round(voice + noise)));
  }
  return out;
}

/** Ticks the CPU was stolen by the hypervisor (the 8th value of /proc/stat's cpu line), or null off Linux. */
function stealTicks(): number | null {
  try {
    const line = readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "";
    const v = Number(line.trim().split(/\s+/)[8]);
    return Number.isFinite(v) ? v : null;
  } catch {
    return null;
  }
}

interface Mp3Figures {
  rate: number;
  kbps: number;
  audioSecondsPerFile: number;
  oneWorkerXRealtime: number;
  pool: { workers: number; files: number; xRealtimeOverall: number; xRealtimePerWorker: number };
}

export async function benchMp3(o: { seconds: number; json: boolean }): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), "voicebot-bench-mp3-"));
  const stealBefore = stealTicks();
  const results: Mp3Figures[] = [];
  try {
    for (const [rate, kbps] of [[8000, 32], [16000, 48]] as const) {
      const files = Math.max(2, availableParallelism() * 2);
      const jobs = Array.from({ length: files }, (_, i) => {
        const stem = join(dir, `call-${rate}-${i}`);
        writeFileSync(`${stem}.caller`, speechLike(rate, o.seconds, i * 2 + 1));
        writeFileSync(`${stem}.bot`, speechLike(rate, o.seconds, i * 2 + 2));
        return { callerPath: `${stem}.caller`, botPath: `${stem}.bot`, rate, kbps, out: `${stem}.mp3` };
      });
      const single = new Mp3Pool(1);
      await single.convert(jobs[0] as (typeof jobs)[number]);
      const alone = await single.convert(jobs[1] as (typeof jobs)[number]);
      await single.close();
      if (!alone.ok) throw new Error(`MP3 encoding failed: ${alone.error}`);
      const pool = new Mp3Pool(defaultMp3Workers());
      const started = performance.now();
      const all = await Promise.all(jobs.map((j) => pool.convert(j)));
      const wall = (performance.now() - started) / 1000;
      await pool.close();
      let audio = 0;
      let worker = 0;
      for (const r of all) {
        if (!r.ok) throw new Error(`MP3 encoding failed: ${r.error}`);
        audio += r.audioSeconds;
        worker += r.encodeMs / 1000;
      }
      results.push({
        rate, kbps, audioSecondsPerFile: o.seconds, oneWorkerXRealtime: alone.audioSeconds / (alone.encodeMs / 1000),
        pool: { workers: pool.size, files, xRealtimeOverall: audio / wall, xRealtimePerWorker: audio / worker },
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const stealAfter = stealTicks();
  const steal = stealBefore !== null && stealAfter !== null ? stealAfter - stealBefore : null;
  if (o.json) printJson({ mp3: results, cpuStealTicks: steal });
  else {
    for (const r of results) {
      process.stdout.write(`MP3 ${r.rate} Hz stereo ${r.kbps}k, ${r.audioSecondsPerFile} s files: one worker ${r.oneWorkerXRealtime.toFixed(0)}x real time; `
        + `${r.pool.workers} workers on ${r.pool.files} files ${r.pool.xRealtimeOverall.toFixed(0)}x overall (${r.pool.xRealtimePerWorker.toFixed(0)}x per worker)\n`);
    }
    process.stdout.write(`CPU steal during the run: ${steal ?? "unknown"} ticks\n`);
  }
  return 0;
}
