import type { TextToSpeech } from "./types.ts";

/** The whole of `text` as one buffer at the voice's rate (for prompts rendered ahead, not live speech). */
export async function synthesizeAll(tts: TextToSpeech, text: string, signal?: AbortSignal): Promise<Int16Array> {
  const chunks: Int16Array[] = [];
  let total = 0;
  for await (const chunk of tts.synthesize(text, signal)) {
    chunks.push(chunk);
    total += chunk.length;
  }
  const joined = new Int16Array(total);
  let at = 0;
  for (const chunk of chunks) {
    joined.set(chunk, at);
    at += chunk.length;
  }
  return joined;
}
