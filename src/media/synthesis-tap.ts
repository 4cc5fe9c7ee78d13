/**
 * One synthesis the phrase cache runs, which live speech can listen to as it comes: a call that
 * needs a phrase being rendered right now hears that render from its first chunk (even chunks that
 * arrived before the call did) instead of asking the voice a second time and queueing behind it.
 */
import type { TextToSpeech } from "../ai/tts/types.ts";

export class SynthesisTap {
  private readonly chunks: Int16Array[] = [];
  private wakers: (() => void)[] = [];
  private ended = false;
  private failedWith: Error | null = null;
  /** The voice has been asked (the render left the queue). */
  started = false;

  get failed(): boolean {
    return this.failedWith !== null;
  }

  push(chunk: Int16Array): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.wake();
  }

  /** No more chunks; with `error`, listeners that have not heard the end get it. */
  end(error: Error | null): void {
    this.ended = true;
    this.failedWith = error;
    this.wake();
  }

  /** Everything the voice said, as one buffer (once ended without error). */
  joined(): Int16Array {
    let total = 0;
    for (const chunk of this.chunks) total += chunk.length;
    const out = new Int16Array(total);
    let at = 0;
    for (const chunk of this.chunks) {
      out.set(chunk, at);
      at += chunk.length;
    }
    return out;
  }

  /** The chunks from the first, then as they come; aborting `signal` stops listening (not the render). */
  async *listen(signal?: AbortSignal): AsyncIterable<Int16Array> {
    for (let next = 0; ; ) {
      if (signal?.aborted) return;
      if (next < this.chunks.length) {
        // A copy: whoever listens may hand its chunks over (to the resampler pool), and the render needs them.
        yield (this.chunks[next++] as Int16Array).slice();
        continue;
      }
      if (this.failedWith) throw this.failedWith;
      if (this.ended) return;
      let onAbort = (): void => {};
      await new Promise<void>((resolve) => {
        this.wakers.push(resolve);
        onAbort = resolve;
        signal?.addEventListener("abort", onAbort, { once: true });
      });
      signal?.removeEventListener("abort", onAbort);
    }
  }

  private wake(): void {
    const wakers = this.wakers;
    this.wakers = [];
    for (const wake of wakers) wake();
  }
}

/** The syntheses a phrase cache has queued or running, by text, and the live voice that listens to them. */
export class SynthesisTaps {
  private readonly byText = new Map<string, SynthesisTap>();

  add(text: string): SynthesisTap {
    const tap = new SynthesisTap();
    this.byText.set(text, tap);
    return tap;
  }

  remove(text: string, tap: SynthesisTap): void {
    if (this.byText.get(text) === tap) this.byText.delete(text);
  }

  /**
   * `live`, except that a text `render` (the same voice at the same rate) is synthesizing right now
   * is heard from that synthesis; one still queued is heard too when `promote` moved it to the front.
   */
  voice(live: TextToSpeech, render: TextToSpeech, promote: (text: string) => boolean): TextToSpeech {
    const sameVoice = (): boolean => live.voiceId === render.voiceId && live.sampleRate === render.sampleRate;
    const taps = this.byText;
    return {
      get voiceId() {
        return live.voiceId;
      },
      get sampleRate() {
        return live.sampleRate;
      },
      synthesize(text, signal) {
        const tap = taps.get(text);
        if (!tap || tap.failed || !sameVoice() || (!tap.started && !promote(text))) return live.synthesize(text, signal);
        return tap.listen(signal);
      },
      close: () => live.close(),
    };
  }
}
