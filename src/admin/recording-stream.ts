/**
 * GET /api/calls/{id}/recording: the call's audio for an <audio> element, with Range so it can
 * seek. The MP3 when `recordings convert` has made it; else a stereo WAV (caller left, bot right)
 * built on the fly from the raw pair, block by block, never whole in memory. `?download=1` adds
 * Content-Disposition.
 */
import { WAV_HEADER_BYTES, writeWavHeader } from "../media/wav-header.ts";
import type { CallSummary } from "../store/store.ts";
import { rawPair } from "./api-calls.ts";
import { problem } from "./api-params.ts";

const BLOCK_FRAMES = 8192;

interface ByteRange {
  start: number;
  end: number;
}

export async function recordingResponse(call: CallSummary, req: Request, url: URL): Promise<Response> {
  const name = `call-${call.id}-${call.uuid}`;
  const download = url.searchParams.get("download") === "1";
  const mp3 = call.recordings.find((r) => r.channel === "stereo");
  if (mp3 && (await Bun.file(mp3.path).exists())) {
    const file = Bun.file(mp3.path);
    return ranged(req, file.size, "audio/mpeg", download ? `${name}.mp3` : null, (r) => file.slice(r.start, r.end + 1).stream());
  }
  const pair = rawPair(call);
  if (pair === null) return problem(404, `call ${call.id} has no recording on disk`);
  const frames = Math.max(Bun.file(pair.caller).size, Bun.file(pair.bot).size) >> 1;
  const header = wavHeader(frames, pair.sampleRate);
  return ranged(req, WAV_HEADER_BYTES + frames * 4, "audio/wav", download ? `${name}.wav` : null, (r) => stereoWav(pair, header, r));
}

function ranged(req: Request, size: number, type: string, filename: string | null, body: (r: ByteRange) => ReadableStream<Uint8Array>): Response {
  const headers: Record<string, string> = { "content-type": type, "accept-ranges": "bytes", "cache-control": "private, max-age=3600" };
  if (filename) headers["content-disposition"] = `attachment; filename="${filename}"`;
  const header = req.headers.get("range");
  if (header === null) {
    headers["content-length"] = String(size);
    return new Response(req.method === "HEAD" ? null : body({ start: 0, end: size - 1 }), { headers });
  }
  const range = parseRange(header, size);
  if (range === null) return new Response(null, { status: 416, headers: { "content-range": `bytes */${size}` } });
  headers["content-range"] = `bytes ${range.start}-${range.end}/${size}`;
  headers["content-length"] = String(range.end - range.start + 1);
  return new Response(req.method === "HEAD" ? null : body(range), { status: 206, headers });
}

/** One range of the form bytes=a-b, a-, or -n (the last n bytes); null when unsatisfiable. */
export function parseRange(header: string, size: number): ByteRange | null {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === "" && m[2] === "") || size === 0) return null;
  if (m[1] === "") {
    const n = Math.min(Number(m[2]), size);
    return n === 0 ? null : { start: size - n, end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  return start > end || start >= size ? null : { start, end };
}

function wavHeader(frames: number, rate: number): Uint8Array {
  const header = new Uint8Array(WAV_HEADER_BYTES);
  writeWavHeader(new DataView(header.buffer), rate, frames * 4, 2);
  return header;
}

/** The bytes [start, end] of the stereo WAV, a block of frames at a time (the shorter side padded with silence). */
function stereoWav(pair: { caller: string; bot: string }, header: Uint8Array, range: ByteRange): ReadableStream<Uint8Array> {
  let at = range.start;
  return new ReadableStream<Uint8Array>({
    pull: async (controller) => {
      if (at > range.end) return controller.close();
      if (at < WAV_HEADER_BYTES) {
        const part = header.subarray(at, Math.min(WAV_HEADER_BYTES, range.end + 1));
        at += part.length;
        return controller.enqueue(part);
      }
      const firstFrame = Math.floor((at - WAV_HEADER_BYTES) / 4);
      const [caller, bot] = await Promise.all([pair.caller, pair.bot].map((path) => Bun.file(path).slice(firstFrame * 2, (firstFrame + BLOCK_FRAMES) * 2).arrayBuffer()));
      const block = interleave(new Uint16Array(caller as ArrayBuffer, 0, (caller as ArrayBuffer).byteLength >> 1), new Uint16Array(bot as ArrayBuffer, 0, (bot as ArrayBuffer).byteLength >> 1), BLOCK_FRAMES);
      const blockStart = WAV_HEADER_BYTES + firstFrame * 4;
      const part = block.subarray(at - blockStart, Math.min(block.length, range.end + 1 - blockStart));
      at += part.length;
      controller.enqueue(part);
    },
  });
}

function interleave(left: Uint16Array, right: Uint16Array, frames: number): Uint8Array {
  const out = new Uint16Array(frames * 2);
  for (let i = 0; i < frames; i++) {
    out[i * 2] = left[i] ?? 0;
    out[i * 2 + 1] = right[i] ?? 0;
  }
  return new Uint8Array(out.buffer);
}
