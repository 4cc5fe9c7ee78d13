/**
 * Rendered phrases on disk, one file per phrase, voice and rate:
 *   <cacheDir>/<voice>/<rate>/<phraseId>.<hash>.pcm
 * The hash covers the format version, voice, rate and text, so a changed text or voice gets a new
 * name (and is re-rendered) while everything else still loads. A file is a 16-byte header
 * ("VBPH", rate, sample count, CRC-32 of the samples; little-endian u32s) then mono s16le samples.
 * <cacheDir>/manifest.json says what the last successful render was for (voice, language, texts,
 * rates), so start-up can tell "built for another voice" apart from "never built".
 */
import { readFileSync } from "node:fs";
import { mkdir, readdir, rename, rm, stat, unlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import pkg from "../../package.json" with { type: "json" };
import type { Logger } from "../log.ts";

/** Bump when the rendering (trim, level, resampler) or the file layout changes: old files are then ignored. */
export const PHRASE_FORMAT_VERSION = 1;

const MAGIC = 0x48504256; // "VBPH" read as a little-endian u32
const HEADER_BYTES = 16;
const FILE_NAME = /^(.+)\.([0-9a-f]{16})\.pcm$/;
const MANIFEST_FILE = "manifest.json";

/** What the phrases on disk were last rendered for. */
export interface PhraseManifest {
  /** PHRASE_FORMAT_VERSION of the build. */
  format: number;
  voiceId: string;
  /** LANGUAGE of the build; null when the cache was not told. */
  language: string | null;
  /** Hash of every phrase id and text: equal hashes = the same phrase set. */
  phraseSetHash: string;
  /** Per phrase id, a hash of its text: names the phrases whose text changed. */
  phrases: Record<string, string>;
  /** Every rate rendered for this voice and phrase set, ascending. */
  rates: number[];
  /** ISO 8601 time of the build. */
  builtAt: string;
  /** voicebot's version. */
  version: string;
}

export const voicebotVersion: string = pkg.version;

function sha256Hex(value: string): string {
  const hasher = new Bun.CryptoHasher("sha256");
  hasher.update(value);
  return hasher.digest("hex").slice(0, 16);
}

function hashOf(voiceId: string, rate: number, text: string): string {
  return sha256Hex(JSON.stringify([PHRASE_FORMAT_VERSION, voiceId, rate, text]));
}

export function textHashOf(text: string): string {
  return sha256Hex(text);
}

/** Independent of the order the ids were given in. */
export function phraseSetHashOf(texts: ReadonlyMap<string, string>): string {
  return sha256Hex(JSON.stringify([...texts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));
}

function isStringRecord(value: unknown): value is Record<string, string> {
  return typeof value === "object" && value !== null && !Array.isArray(value) && Object.values(value).every((v) => typeof v === "string");
}

/** The manifest's shape, or a description of what is wrong with it. */
function manifestFault(value: unknown): string | null {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return "not a JSON object";
  const m = value as Record<string, unknown>;
  if (typeof m.format !== "number") return "format is not a number";
  if (typeof m.voiceId !== "string") return "voiceId is not a string";
  if (m.language !== null && typeof m.language !== "string") return "language is neither a string nor null";
  if (typeof m.phraseSetHash !== "string") return "phraseSetHash is not a string";
  if (!isStringRecord(m.phrases)) return "phrases is not an object of strings";
  if (!Array.isArray(m.rates) || !m.rates.every((r) => Number.isInteger(r))) return "rates is not a list of integers";
  if (typeof m.builtAt !== "string") return "builtAt is not a string";
  if (typeof m.version !== "string") return "version is not a string";
  return null;
}

function readOrNull(file: string): Buffer | null {
  try {
    return readFileSync(file);
  } catch {
    return null;
  }
}

export class PhraseStore {
  constructor(
    private readonly root: string,
    private readonly log: Logger,
  ) {}

  /** The directory name of a voice (anything outside [A-Za-z0-9._-] becomes "_"). */
  voiceDirName(voiceId: string): string {
    return voiceId.replace(/[^A-Za-z0-9._-]/g, "_");
  }

  dirFor(voiceId: string, rate: number): string {
    return join(this.root, this.voiceDirName(voiceId), String(rate));
  }

  fileFor(voiceId: string, rate: number, id: string, text: string): string {
    return join(this.dirFor(voiceId, rate), `${id}.${hashOf(voiceId, rate, text)}.pcm`);
  }

  /** The samples in `file` (a view on the file's bytes), or null when absent or unusable (logged). */
  async load(file: string, rate: number): Promise<Int16Array | null> {
    const handle = Bun.file(file);
    if (!(await handle.exists())) return null;
    let bytes: ArrayBuffer;
    try {
      bytes = await handle.arrayBuffer();
    } catch (error) {
      this.log.warn("phrase cache file unreadable; rendering it again", { file, error: String(error) });
      return null;
    }
    const fault = this.check(bytes, rate);
    if (fault) {
      this.log.warn("phrase cache file is corrupt; rendering it again", { file, fault });
      return null;
    }
    return new Int16Array(bytes, HEADER_BYTES, (bytes.byteLength - HEADER_BYTES) / 2);
  }

  /** Writes atomically (temporary file, then rename). A failure is logged: the phrase still plays from memory. */
  async save(file: string, rate: number, samples: Int16Array): Promise<void> {
    const bytes = new Uint8Array(HEADER_BYTES + samples.byteLength);
    bytes.set(new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength), HEADER_BYTES);
    const header = new DataView(bytes.buffer);
    header.setUint32(0, MAGIC, true);
    header.setUint32(4, rate, true);
    header.setUint32(8, samples.length, true);
    header.setUint32(12, Bun.hash.crc32(bytes.subarray(HEADER_BYTES)), true);
    await this.writeAtomically(file, bytes, "could not write phrase cache file; it will be rendered again next start");
  }

  /** Size in bytes of `file`, or null when it does not exist. */
  async sizeOf(file: string): Promise<number | null> {
    try {
      return (await stat(file)).size;
    } catch {
      return null;
    }
  }

  /** The last build's manifest; null when there is none or it is unusable (logged: the next build rewrites it). */
  async readManifest(): Promise<PhraseManifest | null> {
    const file = join(this.root, MANIFEST_FILE);
    const handle = Bun.file(file);
    if (!(await handle.exists())) return null;
    return this.manifestFrom(await handle.text(), file);
  }

  /** readManifest() without waiting: for start-up, before the listeners open. */
  readManifestNow(): PhraseManifest | null {
    const file = join(this.root, MANIFEST_FILE);
    const bytes = readOrNull(file);
    return bytes === null ? null : this.manifestFrom(bytes.toString("utf8"), file);
  }

  /** load() without waiting: for start-up, before the listeners open, so the first call finds the samples. */
  loadNow(file: string, rate: number): Int16Array | null {
    const bytes = readOrNull(file);
    if (bytes === null) return null;
    const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    const fault = this.check(buffer, rate);
    if (fault) {
      this.log.warn("phrase cache file is corrupt; not using it", { file, fault });
      return null;
    }
    return new Int16Array(buffer, HEADER_BYTES, (buffer.byteLength - HEADER_BYTES) / 2);
  }

  private manifestFrom(text: string, file: string): PhraseManifest | null {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      this.log.warn("phrase cache manifest is not valid JSON; ignoring it", { file, error: String(error) });
      return null;
    }
    const fault = manifestFault(value);
    if (fault) {
      this.log.warn("phrase cache manifest is malformed; ignoring it", { file, fault });
      return null;
    }
    return value as PhraseManifest;
  }

  async writeManifest(manifest: PhraseManifest): Promise<void> {
    const bytes = new TextEncoder().encode(JSON.stringify(manifest, null, 2) + "\n");
    await this.writeAtomically(join(this.root, MANIFEST_FILE), bytes, "could not write the phrase cache manifest");
  }

  /** Deletes files of these phrase ids that are not in `keep` (older texts): the directory stays small. */
  async prune(dir: string, ids: ReadonlySet<string>, keep: ReadonlySet<string>): Promise<void> {
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      return;
    }
    for (const name of names) {
      const id = FILE_NAME.exec(name)?.[1];
      if (id === undefined || !ids.has(id) || keep.has(join(dir, name))) continue;
      await unlink(join(dir, name)).catch((error: unknown) => {
        this.log.debug("could not delete a stale phrase cache file", { file: join(dir, name), error: String(error) });
      });
    }
  }

  /** Deletes every other voice's directory; returns their names. Only on request: switching back stays instant. */
  async pruneOtherVoices(voiceId: string): Promise<string[]> {
    const keep = this.voiceDirName(voiceId);
    let entries: { name: string; isDirectory(): boolean }[];
    try {
      entries = await readdir(this.root, { withFileTypes: true });
    } catch {
      return [];
    }
    const removed: string[] = [];
    for (const entry of entries) {
      if (!entry.isDirectory() || entry.name === keep) continue;
      await rm(join(this.root, entry.name), { recursive: true, force: true });
      removed.push(entry.name);
    }
    return removed.sort();
  }

  private async writeAtomically(file: string, bytes: Uint8Array, failure: string): Promise<void> {
    const temporary = `${file}.${process.pid}.${crypto.randomUUID()}.tmp`;
    try {
      await mkdir(dirname(file), { recursive: true });
      await Bun.write(temporary, bytes);
      await rename(temporary, file);
    } catch (error) {
      this.log.warn(failure, { file, error: String(error) });
      await unlink(temporary).catch(() => undefined);
    }
  }

  private check(bytes: ArrayBuffer, rate: number): string | null {
    if (bytes.byteLength < HEADER_BYTES) return `only ${bytes.byteLength} bytes, shorter than the ${HEADER_BYTES}-byte header`;
    const header = new DataView(bytes);
    if (header.getUint32(0, true) !== MAGIC) return "bad magic";
    if (header.getUint32(4, true) !== rate) return `rate ${header.getUint32(4, true)}, expected ${rate}`;
    const expected = HEADER_BYTES + header.getUint32(8, true) * 2;
    if (bytes.byteLength !== expected) return `${bytes.byteLength} bytes, expected ${expected}`;
    if (Bun.hash.crc32(new Uint8Array(bytes, HEADER_BYTES)) !== header.getUint32(12, true)) return "checksum mismatch";
    return null;
  }
}

/** What a cache is for now, compared with a manifest. */
export interface PhraseTarget {
  voiceId: string;
  language: string | null;
  phrases: Readonly<Record<string, string>>;
}

const LISTED = 5;

function listed(ids: string[]): string {
  const shown = ids.slice(0, LISTED).join(", ");
  return ids.length > LISTED ? `${shown} and ${ids.length - LISTED} more` : shown;
}

/** How `built` differs from `now`, one short clause per difference; empty = same voice, language and texts. */
export function manifestDifferences(built: PhraseManifest, now: PhraseTarget): string[] {
  const differences: string[] = [];
  if (built.format !== PHRASE_FORMAT_VERSION) differences.push(`rendered by phrase format ${built.format}, now ${PHRASE_FORMAT_VERSION}`);
  const voiceChanged = built.voiceId !== now.voiceId;
  const languageChanged = built.language !== null && now.language !== null && built.language !== now.language;
  if (voiceChanged && languageChanged) differences.push(`built for ${built.voiceId} in ${built.language}, now ${now.voiceId} in ${now.language}`);
  else if (voiceChanged) differences.push(`built for ${built.voiceId}, now ${now.voiceId}`);
  else if (languageChanged) differences.push(`built for ${built.language}, now ${now.language}`);
  // Another language changes every text: listing them would only hide the cause.
  if (languageChanged) return differences;
  const ids = Object.keys(now.phrases);
  const changed = ids.filter((id) => built.phrases[id] !== undefined && built.phrases[id] !== now.phrases[id]);
  const added = ids.filter((id) => built.phrases[id] === undefined);
  const dropped = Object.keys(built.phrases).filter((id) => now.phrases[id] === undefined);
  if (changed.length > 0) differences.push(`text changed for ${listed(changed)}`);
  if (added.length > 0) differences.push(`new phrases ${listed(added)}`);
  if (dropped.length > 0) differences.push(`phrases no longer used ${listed(dropped)}`);
  return differences;
}
