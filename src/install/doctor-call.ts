/**
 * The synthetic call: doctor dials the running service as the PBX would, and checks that the
 * greeting starts within 300 ms, at the call's rate, paced at real time. A doctor call is
 * registered with caller id "voicebot-doctor" so it is easy to tell apart in `voicebot calls`.
 */
import type { Socket } from "bun";
import { randomUUID } from "node:crypto";
import { PROBE_CALLER as DOCTOR_CALLER } from "../transports/caller-id.ts";
import type { Config } from "../config/schema.ts";
import { AudioSocketParser, HANGUP_MESSAGE, Kind, encodeMessage, rateForKind, uuidFromString, writeAudioMessage } from "../transports/audiosocket-codec.ts";
import type { Check, CheckResult, DoctorContext } from "./doctor-check.ts";
import { fail, pass, warn } from "./doctor.ts";
import { GREETING_LIMIT_MS, GreetingMeter, type GreetingFigures } from "./greeting-meter.ts";
import { adminUrl, fetchHealth, localHost } from "./health.ts";

const CALL_LIMIT_MS = 4000;

/** `continuous`: the transport sends a frame every 20 ms (AudioSocket); mod_audio_stream sends only speech. */
function judge(id: string, transport: string, f: GreetingFigures, expectedRate: number, continuous: boolean): CheckResult {
  if (f.firstAudioMs === null) return fail(id, `${transport}: no greeting within ${CALL_LIMIT_MS} ms`, "look at `journalctl -u voicebot -n 50`: the phrase cache or the voice may be failing");
  const ms = Math.round(f.firstAudioMs);
  const wrongRate = f.rates.filter((r) => r !== expectedRate);
  if (wrongRate.length > 0) return fail(id, `${transport}: audio came at ${wrongRate.join(", ")} Hz on a ${expectedRate} Hz call`, "report this: the bot would sound too fast or too slow", f.firstAudioMs);
  if (f.paced === "too fast") return fail(id, `${transport}: ${f.framesInWindow} frames in 1.5 s, ${f.expectedFrames} expected: the audio is not paced at real time`, "report this: callers would hear chipmunk audio or gaps", f.firstAudioMs);
  const pacing = continuous ? `${f.framesInWindow}/${f.expectedFrames} frames in 1.5 s (${f.paced})` : `not faster than real time (${f.framesInWindow} frames of speech in 1.5 s)`;
  const figures = `greeting after ${ms} ms at ${expectedRate} Hz, ${pacing}`;
  if (f.firstAudioMs > GREETING_LIMIT_MS) return fail(id, `${transport}: ${figures}; over ${GREETING_LIMIT_MS} ms`, "the greeting should come from the phrase cache: run `voicebot cache build`, and check the host is not overloaded", f.firstAudioMs);
  if (f.paced === "too slow" && continuous) return warn(id, `${transport}: ${figures}`, "the host may be overloaded (CPU steal?): check `voicebot bench`", f.firstAudioMs);
  return pass(id, `${transport}: ${figures}`, f.firstAudioMs);
}

/** Tells the service who is calling, the way the Asterisk dialplan does, so the call shows as the doctor's. */
async function register(config: Config, uuid: string, signal: AbortSignal): Promise<void> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (config.adminToken) headers.authorization = `Bearer ${config.adminToken}`;
  await fetch(adminUrl(config, `/api/calls/${uuid}`), { method: "POST", headers, body: JSON.stringify({ caller: DOCTOR_CALLER }), signal }).catch(() => undefined);
}

/** Sends the caller's frame every 20 ms until the greeting is measured, the call ends, or time is up. */
async function listen(meter: GreetingMeter, signal: AbortSignal, ended: PromiseWithResolvers<void>, sendFrame: () => unknown): Promise<void> {
  const timer = setInterval(() => {
    sendFrame();
    if (meter.done() || signal.aborted) ended.resolve();
  }, 20);
  const deadline = setTimeout(() => ended.resolve(), CALL_LIMIT_MS);
  await ended.promise;
  clearInterval(timer);
  clearTimeout(deadline);
}

export async function audiosocketCall(config: Config, signal: AbortSignal, rate = 8000): Promise<GreetingFigures> {
  const uuid = randomUUID();
  await register(config, uuid, signal);
  const kind = rate === 16000 ? Kind.Slin16 : Kind.Slin8;
  const silence = new Uint8Array(3 + (rate / 50) * 2);
  writeAudioMessage(silence, kind, new Int16Array(rate / 50));
  const meter = new GreetingMeter();
  const ended = Promise.withResolvers<void>();
  let failure: string | null = null;
  const parser = new AudioSocketParser((k, payload) => {
    const r = rateForKind(k);
    if (r !== undefined) meter.heard(new Int16Array(payload.buffer.slice(payload.byteOffset, payload.byteOffset + payload.byteLength)), r);
    else if (k === Kind.Hangup) ended.resolve();
    else if (k === Kind.Error) failure = "the service sent an error message";
  });
  const socket: Socket<undefined> = await Bun.connect({
    hostname: localHost(config.audiosocket.host),
    port: config.audiosocket.port,
    socket: {
      binaryType: "uint8array",
      data: (_s, chunk) => {
        try {
          parser.push(chunk);
        } catch (err) {
          failure = err instanceof Error ? err.message : String(err);
          ended.resolve();
        }
      },
      close: () => ended.resolve(),
      error: (_s, err) => {
        failure = err.message;
        ended.resolve();
      },
    },
  });
  socket.write(encodeMessage(Kind.Uuid, uuidFromString(uuid)));
  // Asterisk sends a frame every 20 ms for the whole call; so does the doctor.
  await listen(meter, signal, ended, () => socket.write(silence));
  socket.write(HANGUP_MESSAGE);
  socket.end();
  if (failure !== null) throw new Error(failure);
  return meter.figures();
}

async function audiostreamCall(config: Config, signal: AbortSignal, rate = 16000): Promise<GreetingFigures> {
  const uuid = randomUUID();
  const host = localHost(config.audiostream.host);
  const token = config.audiostreamToken ? `&token=${encodeURIComponent(config.audiostreamToken)}` : "";
  const ws = new WebSocket(`ws://${host.includes(":") ? `[${host}]` : host}:${config.audiostream.port}/stream/default/${uuid}?rate=${rate}${token}`);
  const meter = new GreetingMeter();
  const ended = Promise.withResolvers<void>();
  let failure: string | null = null;
  ws.onmessage = (event) => {
    if (typeof event.data !== "string") return;
    try {
      const msg = JSON.parse(event.data) as { type?: string; data?: { sampleRate?: number; audioData?: string; audioDataType?: string } };
      if (msg.type !== "streamAudio" || msg.data?.audioDataType !== "raw" || !msg.data.audioData) return;
      const bytes = Buffer.from(msg.data.audioData, "base64");
      meter.heard(new Int16Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)), msg.data.sampleRate ?? 0);
    } catch {
      failure = "the service sent a streamAudio message that is not JSON";
    }
  };
  ws.onclose = (event) => {
    if (event.code === 1008 || event.code === 4001 || /token|401/i.test(event.reason)) failure = `the service refused the stream (${event.code} ${event.reason})`;
    ended.resolve();
  };
  ws.onerror = () => {
    failure ??= "the WebSocket upgrade failed (wrong AUDIOSTREAM_TOKEN, or not voicebot on that port)";
    ended.resolve();
  };
  return runWebSocketCall(ws, JSON.stringify({ caller: DOCTOR_CALLER, dnis: "doctor", uuid }), rate, meter, signal, ended, () => failure);
}

/**
 * A WebSocket doctor call once its handlers are set: open within 2 s, say who is calling, send
 * silent frames until the greeting is measured or the call ends, hang up; `failure` is what the
 * handlers saw go wrong.
 */
async function runWebSocketCall(
  ws: WebSocket, first: string, rate: number, meter: GreetingMeter, signal: AbortSignal, ended: PromiseWithResolvers<void>, failure: () => string | null,
): Promise<GreetingFigures> {
  const opened = await new Promise<boolean>((resolve) => {
    ws.onopen = () => resolve(true);
    setTimeout(() => resolve(false), 2000);
  });
  if (!opened) throw new Error(failure() ?? "the WebSocket did not open within 2 s");
  ws.send(first);
  const frame = new Uint8Array((rate / 50) * 2);
  await listen(meter, signal, ended, () => ws.readyState === WebSocket.OPEN && ws.send(frame));
  ws.close(1000, "doctor done");
  const failed = failure();
  if (failed !== null) throw new Error(failed);
  return meter.figures();
}

/** The doctor as Asterisk chan_websocket: MEDIA_START, then slin16 frames; the bot's frames are what the caller would hear. */
async function websocketCall(config: Config, signal: AbortSignal, rate = 16000): Promise<GreetingFigures> {
  const host = localHost(config.websocket.host);
  const headers: Record<string, string> = config.websocketToken ? { Authorization: `Basic ${Buffer.from(`asterisk:${config.websocketToken}`).toString("base64")}` } : {};
  const url = `ws://${host.includes(":") ? `[${host}]` : host}:${config.websocket.port}/asterisk?caller=${DOCTOR_CALLER}&dnis=doctor`;
  const ws = new WebSocket(url, { protocols: ["media"], headers } as unknown as string[]);
  ws.binaryType = "arraybuffer";
  const meter = new GreetingMeter();
  const ended = Promise.withResolvers<void>();
  let failure: string | null = null;
  ws.onmessage = (event: MessageEvent<string | ArrayBuffer>) => {
    if (typeof event.data === "string") {
      if (/HANGUP/.test(event.data)) ended.resolve();
      return;
    }
    // Asterisk cuts each message into 640-byte frames and drops a remainder: so does the meter's view.
    if (event.data.byteLength % ((rate / 50) * 2) !== 0) failure = `the service sent a ${event.data.byteLength}-byte message: not whole 20 ms frames, Asterisk would drop the remainder`;
    meter.heard(new Int16Array(event.data), rate);
  };
  ws.onclose = (event) => {
    if (event.code !== 1000) failure ??= `the service closed the call (${event.code} ${event.reason})`;
    ended.resolve();
  };
  ws.onerror = () => {
    failure ??= "the WebSocket upgrade failed (wrong WEBSOCKET_TOKEN, or not voicebot on that port)";
    ended.resolve();
  };
  const start = `MEDIA_START connection_id:doctor channel:WebSocket/doctor/0x1 channel_id:doctor-${randomUUID()} format:slin16 optimal_frame_size:${(rate / 50) * 2} ptime:20`;
  return runWebSocketCall(ws, start, rate, meter, signal, ended, () => failure);
}

export const callCheck: Check = {
  id: "call",
  timeoutMs: 8000,
  async run(ctx: DoctorContext) {
    const c = ctx.config;
    if (!c) return fail("call", "unknown: the configuration does not load", "fix the configuration first (see the config line)");
    const health = await fetchHealth(c, ctx.signal);
    if (!health) return warn("call", "the service is not running here: synthetic call skipped", "sudo systemctl start voicebot (or run `voicebot serve`), then `voicebot doctor` again");
    const results: CheckResult[] = [];
    if (c.pbx !== "freeswitch") {
      try {
        results.push(judge("call.audiosocket", "AudioSocket", await audiosocketCall(c, ctx.signal), 8000, true));
      } catch (err) {
        results.push(fail("call.audiosocket", `AudioSocket call to ${localHost(c.audiosocket.host)}:${c.audiosocket.port} failed: ${err instanceof Error ? err.message : String(err)}`,
          "AUDIOSOCKET_ALLOW must include 127.0.0.1 for the doctor's call; check the service's log"));
      }
      try {
        results.push(judge("call.websocket", "chan_websocket", await websocketCall(c, ctx.signal), 16000, false));
      } catch (err) {
        results.push(fail("call.websocket", `chan_websocket call to ${localHost(c.websocket.host)}:${c.websocket.port} failed: ${err instanceof Error ? err.message : String(err)}`,
          "check WEBSOCKET_TOKEN and the service's log"));
      }
    }
    if (c.pbx !== "asterisk") {
      if (c.audiostreamPlayback === "file") {
        results.push(pass("call.audiostream", "mod_audio_stream in file mode: FreeSWITCH plays the greeting itself (not measured here)"));
      } else {
        try {
          results.push(judge("call.audiostream", "mod_audio_stream", await audiostreamCall(c, ctx.signal), 16000, false));
        } catch (err) {
          results.push(fail("call.audiostream", `mod_audio_stream call failed: ${err instanceof Error ? err.message : String(err)}`, "check AUDIOSTREAM_TOKEN and the service's log"));
        }
      }
    }
    return results;
  },
};
