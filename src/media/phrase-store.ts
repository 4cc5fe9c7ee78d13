/**
 * Rendered phrases on disk, one file per phrase, voice and rate:
 *   <cacheDir>/<voice>/<rate>/<phraseId>.<hash>.pcm
 * The hash covers the format version, voice, rate and text, so a changed text or voice gets a new
 * name (and is re-rendered) while everything else still loads. A file is a 16-byte header
 * ("VBPH", rate, sample count, CRC-32 of the samples; little-endian u32s) then mono s16le samples.
 */
import { mkdir, readdir, rename, unlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { Logger } from "../log.ts";

/** Bump when the rendering (trim, level, resampler) or the file layout changes: old files are then ignored. */
export const PHRASE_FORMAT_VERSION = 1;

const MAGIC = 0x48504256; // "VBPH" read as a little-endian u32
const HEADER_BYTES = 16;
const FILE_NAME = /^(.+)\.([0-9a-f]{16})\.pcm$/;

function hashOf(voiceId: string, rate: number, text: string): string {
  const hasher = new Bun.CryptoHasher("sha256");
  hasher.update(JSON.stringify([PHRASE_FORMAT_VERSION, voiceId, rate, text]));
  return hasher.digest("hex").slice(0, 16);
}

export class PhraseStore {
  constructor(
    private readonly root: string,
    private readonly log: Logger,
  ) {}

  dirFor(voiceId: string, rate: number): string {
    return join(this.root, voiceId.replace(/[^A-Za-z0-9._-]/g, "_"), String(rate));
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
    const temporary = `${file}.${process.pid}.${crypto.randomUUID()}.tmp`;
    try {
      await mkdir(dirname(file), { recursive: true });
      await Bun.write(temporary, bytes);
      await rename(temporary, file);
    } catch (error) {
      this.log.warn("could not write phrase cache file; it will be rendered again next start", { file, error: String(error) });
      await unlink(temporary).catch(() => undefined);
    }
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
