/**
 * The PCM inside a WAV file, as Google's LINEAR16 synthesis returns it: the chunks are walked (never
 * a fixed 44-byte header assumed, since a LIST or fact chunk may sit before the data) and the format
 * checked against what was asked.
 */

export interface WavPcm {
  sampleRate: number;
  /** The data chunk's bytes: s16le mono. */
  data: Uint8Array;
}

/** The s16le mono PCM of a WAV; bytes without a RIFF header are taken as raw PCM at `expectedRate`. Throws on a WAV of another format. */
export function pcmFromWav(bytes: Uint8Array, expectedRate: number): WavPcm {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 12 || tag(bytes, 0) !== "RIFF" || tag(bytes, 8) !== "WAVE") return { sampleRate: expectedRate, data: bytes };
  let offset = 12;
  let sampleRate = -1;
  while (offset + 8 <= bytes.length) {
    const id = tag(bytes, offset);
    const declared = view.getUint32(offset + 4, true);
    const start = offset + 8;
    if (id === "data") {
      if (sampleRate < 0) throw new Error("WAV data chunk comes before its fmt chunk");
      // Streaming writers leave the size at 0 or 0xFFFFFFFF: the data then runs to the end.
      const end = declared === 0 || start + declared > bytes.length ? bytes.length : start + declared;
      return { sampleRate, data: bytes.subarray(start, end) };
    }
    if (id === "fmt ") {
      if (declared < 16 || start + 16 > bytes.length) throw new Error(`WAV fmt chunk of ${declared} bytes is too short`);
      const format = view.getUint16(start, true);
      const channels = view.getUint16(start + 2, true);
      const bits = view.getUint16(start + 14, true);
      sampleRate = view.getUint32(start + 4, true);
      if (format !== 1 || channels !== 1 || bits !== 16) {
        throw new Error(`WAV is format ${format}, ${channels} channel(s), ${bits}-bit; expected PCM (1), mono, 16-bit`);
      }
      if (sampleRate !== expectedRate) throw new Error(`WAV is at ${sampleRate} Hz; ${expectedRate} Hz was asked`);
    }
    // Chunks are padded to an even length.
    offset = start + declared + (declared % 2);
  }
  throw new Error("WAV has no data chunk");
}

function tag(bytes: Uint8Array, at: number): string {
  return String.fromCharCode(bytes[at] as number, bytes[at + 1] as number, bytes[at + 2] as number, bytes[at + 3] as number);
}
