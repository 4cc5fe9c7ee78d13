import { statSync } from "node:fs";
import type { RecordingFile } from "./calls.ts";

const BYTES_PER_SAMPLE = 2;

/**
 * How long a call was recorded, in ms, read from its files on disk: a raw s16le file by its size
 * (bytes / 2 / rate; a rate change starts a new pair, so a channel's files add up), the longer of
 * the two channels; a file of any other kind (an MP3) by its last write since `startedAt`. null when
 * none of the files is there. A crash leaves these as the last thing the call wrote: they outlast
 * its last stored event (a caller listening to a long prompt writes no row for many seconds).
 */
export function recordedMs(recordings: readonly RecordingFile[], startedAt: number): number | null {
  const channels = new Map<string, number>();
  let found = false;
  for (const file of recordings) {
    let stat;
    try {
      stat = statSync(file.path);
    } catch {
      continue;
    }
    found = true;
    const ms = file.path.endsWith(".s16le") && file.sampleRate > 0
      ? (stat.size / BYTES_PER_SAMPLE / file.sampleRate) * 1000
      : Math.max(0, stat.mtimeMs - startedAt);
    channels.set(file.channel, (channels.get(file.channel) ?? 0) + ms);
  }
  return found ? Math.round(Math.max(...channels.values())) : null;
}
