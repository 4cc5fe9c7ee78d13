/**
 * The console's test-call module (src/console/try-call/) in a real headless Chromium with a fake
 * microphone (a WAV file), against the browser transport on 127.0.0.1 with a stand-in call that
 * plays a tone back: the worklets load, the microphone's 20 ms frames reach the server, the bot's
 * frames play (the page's output level rises), a digit arrives, and the bot's hang-up ends the
 * call with its reason; a refused upgrade is one onError. The page's own button is the console's test.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Server } from "bun";
import type { Browser } from "puppeteer-core";
import { rootLogger } from "../../src/log.ts";
import { launchChromium } from "../support/chromium.ts";
import { writeWav } from "../../src/simulate/wav.ts";
import { BrowserCalls, type TryCallSocketData } from "../../src/transports/browser-call.ts";
import { TRY_CALL_PATH } from "../../src/transports/browser-protocol.ts";
import { newTransportStats, type CallLeg, type CallLegEvents } from "../../src/transports/types.ts";
import page from "../support/try-call-page/index.html";

const RATE = 16000;

let dir = "";
let browser: Browser | null = null;

/** Speech-like bursts (noise suppression keeps them; it removes a steady tone). */
function burstyTone(seconds: number): Int16Array {
  const out = new Int16Array(RATE * seconds);
  for (let i = 0; i < out.length; i++) {
    const on = Math.floor(i / (RATE / 5)) % 2 === 0;
    const f = 300 + 200 * Math.sin((2 * Math.PI * i) / RATE);
    out[i] = on ? Math.round(9000 * Math.sin((2 * Math.PI * f * i) / RATE)) : 0;
  }
  return out;
}

/**
 * Starting Chromium takes 1–2 s on a quiet host and more than bun's default 5 s hook limit when
 * the full suite keeps both cores busy (the beforeAll timed out that way now and then).
 */
const BROWSER_HOOK_MS = 30_000;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "voicebot-chromium-"));
  const wav = join(dir, "mic.wav");
  writeWav(wav, burstyTone(3), RATE);
  browser = await launchChromium({ fakeMic: wav });
}, BROWSER_HOOK_MS);

afterAll(async () => {
  await browser?.close();
  rmSync(dir, { recursive: true, force: true });
}, BROWSER_HOOK_MS);

interface CallRecord {
  leg: CallLeg;
  frames: number;
  loudFrames: number;
  /** When the first and the last microphone frame came (ms). */
  firstAt: number;
  lastAt: number;
  dtmf: string;
  closed: string | null;
}

interface Seen {
  callId: string | null;
  ended: string | null;
  error: string | null;
  maxOutDb: number;
  maxInDb: number;
  underruns: number;
}

const records: CallRecord[] = [];
let server: Server<TryCallSocketData> | null = null;

/** The bot stand-in: a 440 Hz tone, one frame per 20 ms as the playout clock sends; a digit, then it hangs up. */
function admitToneCall(leg: CallLeg): CallLegEvents {
  const record: CallRecord = { leg, frames: 0, loudFrames: 0, firstAt: 0, lastAt: 0, dtmf: "", closed: null };
  records.push(record);
  const tone = new Int16Array(320);
  let n = 0;
  const timer = setInterval(() => {
    for (let i = 0; i < tone.length; i++, n++) tone[i] = Math.round(8000 * Math.sin((2 * Math.PI * 440 * n) / RATE));
    leg.sendAudio(tone);
  }, 20);
  return {
    onAudio(samples) {
      record.lastAt = performance.now();
      if (record.frames === 0) record.firstAt = record.lastAt;
      record.frames++;
      if (samples.some((s) => Math.abs(s) > 300)) record.loudFrames++;
    },
    onDtmf(digit) {
      record.dtmf += digit;
      setTimeout(() => leg.hangup("resolved"), 800);
    },
    onRateChange: () => {},
    onClose(reason) {
      clearInterval(timer);
      record.closed = reason;
    },
  };
}

beforeAll(() => {
  const calls = new BrowserCalls({ log: rootLogger.child("browser"), stats: newTransportStats(), resolveTenant: () => "default", admit: admitToneCall });
  server = Bun.serve<TryCallSocketData>({
    hostname: "127.0.0.1", port: 0, development: false,
    routes: { "/": page },
    fetch(req, srv) {
      const url = new URL(req.url);
      if (url.pathname === TRY_CALL_PATH && srv.upgrade(req, { data: calls.socketData(url, "page", { who: "test", via: "open" }) })) return undefined;
      return new Response("not found\n", { status: 404 });
    },
    websocket: calls.websocket,
  });
});

afterAll(async () => {
  await server?.stop(true);
});

/** Runs window.runCall in a fresh tab; page errors fail the test. */
async function runCall(digits: string, path = "/api/try-call", captureAtDeviceRate = false): Promise<Seen> {
  const tab = await (browser as Browser).newPage();
  const errors: string[] = [];
  tab.on("pageerror", (err) => errors.push(String(err)));
  try {
    await tab.goto(`http://127.0.0.1:${server?.port}/`);
    await tab.waitForFunction("typeof window.runCall === 'function'");
    const seen = (await tab.evaluate(`window.runCall(${JSON.stringify(digits)}, ${JSON.stringify(path)}, ${captureAtDeviceRate})`)) as Seen;
    expect(errors).toEqual([]);
    return seen;
  } finally {
    await tab.close();
  }
}

test("the module places a call: microphone frames out, the bot's audio played, a digit, the bot's hang-up", async () => {
  records.length = 0;
  const seen = await runCall("5");
  expect(seen.error).toBeNull();
  expect(seen.ended).toBe("resolved");
  expect(records.length).toBe(1);
  const record = records[0] as CallRecord;
  expect(seen.callId).toBe(record.leg.id);
  expect(record.dtmf).toBe("5");
  expect(record.closed).toBe("server-hangup");
  // At least half a second of microphone audio, some of it the WAV's bursts.
  expect(record.frames).toBeGreaterThan(25);
  expect(record.loudFrames).toBeGreaterThan(0);
  expect(seen.maxInDb).toBeGreaterThan(-40);
  // The tone is at −12 dBFS RMS: well above silence once the jitter buffer plays.
  expect(seen.maxOutDb).toBeGreaterThan(-30);
}, 30_000);

test("Firefox's path: the microphone at the device's rate, resampled to 16 kHz in the page", async () => {
  records.length = 0;
  const seen = await runCall("7", "/api/try-call", true);
  expect(seen.error).toBeNull();
  expect(seen.ended).toBe("resolved");
  const record = records[0] as CallRecord;
  expect(record.dtmf).toBe("7");
  expect(record.frames).toBeGreaterThan(25);
  // 20 ms of audio per frame, as spoken: a device-rate stream not resampled would be 2.8-3x as many.
  const perFrameMs = (record.lastAt - record.firstAt) / (record.frames - 1);
  expect(perFrameMs).toBeGreaterThan(12);
  expect(perFrameMs).toBeLessThan(30);
  expect(record.loudFrames).toBeGreaterThan(0);
  expect(seen.maxInDb).toBeGreaterThan(-40);
}, 30_000);

test("a refused upgrade is reported once through onError, and no call is placed", async () => {
  records.length = 0;
  const seen = await runCall("", "/api/not-the-test-call");
  expect(seen.ended).toBeNull();
  expect(seen.callId).toBeNull();
  expect(seen.error).toContain("connection failed or was refused");
  expect(records.length).toBe(0);
}, 30_000);
