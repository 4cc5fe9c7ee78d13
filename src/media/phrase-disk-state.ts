/** What the phrase cache's directory holds for a voice and a set of texts, read without rendering anything. */
import { manifestDifferences, type PhraseManifest, type PhraseStore, type PhraseTarget } from "./phrase-store.ts";

export type PhraseDiskStateName = "fresh" | "stale" | "missing";

export interface PhraseDiskState {
  state: PhraseDiskStateName;
  /** Why, in a few words: what differs (stale), what is absent (missing), or what is there (fresh). */
  reason: string;
  /** Phrase files on disk for this voice, these texts and the asked rates, out of `expected`. */
  present: number;
  expected: number;
  /** Total size of the `present` files. */
  bytes: number;
  /** What the last successful render was for, if anything is recorded. */
  manifest: PhraseManifest | null;
}

/**
 * Fresh (every phrase on disk for this voice and these texts at `rates`), stale (built for another
 * voice, language or texts) or missing; `store` null = memory only.
 */
export async function readDiskState(
  store: PhraseStore | null, target: PhraseTarget, texts: ReadonlyMap<string, string>, rates: readonly number[],
): Promise<PhraseDiskState> {
  const unique = [...new Set(rates)].sort((a, b) => a - b);
  const expected = texts.size * unique.length;
  if (!store) return { state: "missing", reason: "no cache directory (memory only)", present: 0, expected, bytes: 0, manifest: null };
  let present = 0;
  let bytes = 0;
  const gaps: string[] = [];
  for (const rate of unique) {
    let here = 0;
    for (const [id, text] of texts) {
      const size = await store.sizeOf(store.fileFor(target.voiceId, rate, id, text));
      if (size === null) continue;
      here++;
      bytes += size;
    }
    present += here;
    if (here === 0) gaps.push(`nothing at ${rate} Hz`);
    else if (here < texts.size) gaps.push(`${texts.size - here} of ${texts.size} phrases absent at ${rate} Hz`);
  }
  const manifest = await store.readManifest();
  const base = { present, expected, bytes, manifest };
  if (gaps.length === 0) {
    return { ...base, state: "fresh", reason: `all ${expected} phrases on disk for ${target.voiceId} at ${unique.join(", ")} Hz` };
  }
  const differences = manifest ? manifestDifferences(manifest, target) : [];
  if (differences.length > 0) return { ...base, state: "stale", reason: differences.join("; ") };
  const reason = present === 0 && !manifest ? "never built" : `${gaps.join("; ")} for ${target.voiceId}`;
  return { ...base, state: "missing", reason };
}
