/** How long a finished call's recording channels are, against the call, read as a user would (`calls show`). */
import { statSync } from "node:fs";
import { runCli, type RunningServer } from "./harness.ts";

/** Lengths in 20 ms frames. */
export interface RecordingLengths {
  call: number;
  caller: number;
  bot: number;
}

interface Shown {
  durationMs: number | null;
  recordings: { channel: string; path: string; sampleRate: number }[];
}

/** Whole 20 ms frames of a channel; 0 while it has no file yet. */
function framesOf(call: Shown, channel: string): number {
  const file = call.recordings.find((f) => f.channel === channel);
  return file === undefined ? 0 : statSync(file.path).size / 2 / (file.sampleRate / 50);
}

/**
 * The call's lengths once its two channels agree with each other and with the call (within
 * `slack` frames, less by the moments before its recording started), or as they are after ten
 * tries. The row lists the files from the call's start and gets its end before the recorder's last
 * write reaches the disk (later still on a loaded machine), hence the reading again.
 */
export async function recordingLengths(server: Pick<RunningServer, "dataDir">, uuid: string, slack = { frames: 2, start: 25 }): Promise<RecordingLengths> {
  let lengths: RecordingLengths = { call: 0, caller: 0, bot: 0 };
  for (let i = 0; i < 10; i++) {
    const call = JSON.parse((await runCli(["calls", "show", uuid, "--json", "--data-dir", server.dataDir])).stdout) as Shown;
    lengths = { call: (call.durationMs ?? Infinity) / 20, caller: framesOf(call, "caller"), bot: framesOf(call, "bot") };
    if (Math.abs(lengths.caller - lengths.bot) <= slack.frames && lengths.bot >= lengths.call - slack.start) break;
    await Bun.sleep(200);
  }
  return lengths;
}

/** "call 14.96 s, caller channel 14.92 s, bot channel 14.94 s" */
export function describeLengths({ call, caller, bot }: RecordingLengths): string {
  const s = (n: number): string => (n * 0.02).toFixed(2);
  return `call ${s(call)} s, caller channel ${s(caller)} s, bot channel ${s(bot)} s`;
}
