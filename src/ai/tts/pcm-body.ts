/**
 * What the HTTP voices share: a streamed raw s16le mono body turned into samples chunk by chunk (so
 * the first audio plays while the rest downloads), with a stall watchdog, the caller's abort, and
 * texts longer than a vendor's limit split into pieces spoken as one stream.
 */
import type { Logger } from "../../log.ts";
import { ProviderError } from "../provider-error.ts";

/** A speech provider's failure, as the caller of `synthesize` sees it. */
export class TtsError extends ProviderError {
  override name = "TtsError";
}

const ignore = (): void => {};

export function errorText(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause instanceof Error ? ` (${error.cause.message})` : "";
    return `${error.message}${cause}`;
  }
  return String(error);
}

export interface PcmBodyRead {
  /** The voice's id, for errors and logs. */
  voiceId: string;
  /** Longest wait for each next body chunk (a stall). */
  timeoutMs: number;
  signal: AbortSignal | undefined;
  log: Logger;
  /** When the request was sent (performance.now()), for the first-byte figure. */
  started: number;
  /** Characters spoken, for the log line. */
  chars: number;
}

/** The body's samples as they come. Throws TtsError on a stall or a broken stream, the abort reason on abort. */
export async function* readPcmBody(body: ReadableStream<Uint8Array>, o: PcmBodyRead): AsyncGenerator<Int16Array> {
  const reader = body.getReader();
  let reading = false;
  let stalled = false;
  let finished = false;
  // One timer per request, re-armed before each read; it counts only while a read is pending,
  // so a slow consumer is never mistaken for a stalled server.
  const stallTimer = setTimeout(() => {
    if (!reading) return;
    stalled = true;
    reader.cancel().catch(ignore);
  }, o.timeoutMs);
  const onAbort = (): void => void reader.cancel().catch(ignore);
  o.signal?.addEventListener("abort", onAbort, { once: true });
  let bytes = 0;
  let samples = 0;
  let firstByteMs = -1;
  let carry = -1;
  const stallError = (): TtsError => new TtsError(o.voiceId, `no audio for ${o.timeoutMs} ms after ${bytes} bytes (stalled)`, null, true);
  try {
    for (;;) {
      reading = true;
      stallTimer.refresh();
      let result: Awaited<ReturnType<typeof reader.read>>;
      try {
        result = await reader.read();
      } catch (error) {
        o.signal?.throwIfAborted();
        if (stalled) throw stallError();
        throw new TtsError(o.voiceId, `audio stream broke after ${bytes} bytes: ${errorText(error)}`, null, true);
      } finally {
        reading = false;
      }
      o.signal?.throwIfAborted();
      if (stalled) throw stallError();
      if (result.done) break;
      const chunk = result.value;
      if (chunk.length === 0) continue;
      if (firstByteMs < 0) firstByteMs = performance.now() - o.started;
      bytes += chunk.length;
      const pcm = toSamples(chunk, carry);
      carry = (chunk.length + (carry >= 0 ? 1 : 0)) % 2 === 1 ? (chunk[chunk.length - 1] as number) : -1;
      if (pcm) {
        samples += pcm.length;
        yield pcm;
      }
    }
    finished = true;
    if (carry >= 0) o.log.warn("TTS audio ended on half a sample; dropped it", { bytes });
    o.log.debug("TTS done", { chars: o.chars, samples, firstByteMs: Math.round(firstByteMs), ms: Math.round(performance.now() - o.started) });
  } finally {
    clearTimeout(stallTimer);
    o.signal?.removeEventListener("abort", onAbort);
    // Aborted, stalled, failed or the consumer stopped early: let the connection go now.
    if (!finished) reader.cancel().catch(ignore);
  }
}

/**
 * The chunk's whole samples, with the odd byte left by the previous chunk in front, in a fresh
 * buffer the array owns (it may be transferred to a worker). Bun runs only on little-endian hosts.
 */
function toSamples(chunk: Uint8Array, carry: number): Int16Array | null {
  const lead = carry >= 0 ? 1 : 0;
  const count = (chunk.length + lead) >> 1;
  if (count === 0) return null;
  const pcm = new Int16Array(count);
  const out = new Uint8Array(pcm.buffer);
  if (lead) out[0] = carry;
  out.set(chunk.subarray(0, count * 2 - lead), lead);
  return pcm;
}

/**
 * Texts longer than a vendor's limit are split, preferably after a sentence end in the second half
 * of the allowed length, else at the last space, else hard (never between a surrogate pair).
 */
export function splitForSpeech(text: string, maxChars: number): string[] {
  const pieces: string[] = [];
  let rest = text.trim();
  while (rest.length > maxChars) {
    const cut = cutIndex(rest, maxChars);
    pieces.push(rest.slice(0, cut).trim());
    rest = rest.slice(cut).trim();
  }
  if (rest !== "") pieces.push(rest);
  return pieces;
}

function cutIndex(text: string, maxChars: number): number {
  let space = -1;
  // A cut at a whitespace index i keeps text[0, i): at most maxChars characters.
  for (let i = maxChars; i > 0; i--) {
    if (!/\s/.test(text.charAt(i))) continue;
    if (i >= maxChars / 2 && /[.!?…]["»”’)\]]*$/.test(text.slice(Math.max(0, i - 4), i))) return i;
    if (space < 0) space = i;
  }
  if (space > 0) return space;
  const high = text.charCodeAt(maxChars - 1);
  return high >= 0xd800 && high <= 0xdbff ? maxChars - 1 : maxChars;
}
