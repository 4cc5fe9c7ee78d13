/**
 * The console's test-call module (src/console/try-call/) in a real headless Chromium with a fake
 * microphone (a WAV file), against the browser transport on 127.0.0.1 with a stand-in call that
 * plays a tone back: the worklets load, the microphone's 20 ms frames reach the server, the bot's
 * frames play (the page's output level rises), a digit arrives, and the bot's hang-up ends the
 * call with its reason. The page's own button is the console's test (the lead's).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import puppeteer, { type Browser } from "puppeteer-core";
import { rootLogger } from "../../src/log.ts";
import { writeWav } from "../../src/simulate/wav.ts";
import { BrowserCalls, type TryCallSocketData } from "../../src/transports/browser-call.ts";
import { TRY_CALL_PATH } from "../../src/transports/browser-protocol.ts";
import { newTransportStats, type CallLeg } from "../../src/transports/types.ts";
import page from "../support/try-call-page/index.html";

const CHROMIUM = "/usr/bin/chromium";
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

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "voicebot-chromium-"));
  const wav = join(dir, "mic.wav");
  writeWav(wav, burstyTone(3), RATE);
  browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    userDataDir: join(dir, "profile"),
    args: ["--no-sandbox", "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream", `--use-file-for-fake-audio-capture=${wav}`, "--autoplay-policy=no-user-gesture-required"],
  });
});

afterAll(async () => {
  await browser?.close();
  rmSync(dir, { recursive: true, force: true });
});

interface CallRecord {
  leg: CallLeg;
  frames: number;
  loudFrames: number;
  dtmf: string;
  closed: string | null;
}

test("the module places a call: microphone frames out, the bot's audio played, a digit, the bot's hang-up", async () => {
  const records: CallRecord[] = [];
  const tone = new Int16Array(320);
  const calls = new BrowserCalls({
    log: rootLogger.child("browser"), stats: newTransportStats(), resolveTenant: () => "default",
    admit(leg) {
      const record: CallRecord = { leg, frames: 0, loudFrames: 0, dtmf: "", closed: null };
      records.push(record);
      let n = 0;
      // The bot: a 440 Hz tone, one frame per 20 ms, as the playout clock sends.
      const timer = setInterval(() => {
        for (let i = 0; i < tone.length; i++, n++) tone[i] = Math.round(8000 * Math.sin((2 * Math.PI * 440 * n) / RATE));
        leg.sendAudio(tone);
      }, 20);
      return {
        onAudio(samples) {
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
    },
  });
  const server = Bun.serve<TryCallSocketData>({
    hostname: "127.0.0.1", port: 0, development: false,
    routes: { "/": page },
    fetch(req, srv) {
      const url = new URL(req.url);
      if (url.pathname === TRY_CALL_PATH && srv.upgrade(req, { data: calls.socketData(url, "page", { who: "test", via: "open" }) })) return undefined;
      return new Response("not found\n", { status: 404 });
    },
    websocket: calls.websocket,
  });
  try {
    const tab = await (browser as Browser).newPage();
    const errors: string[] = [];
    tab.on("pageerror", (err) => errors.push(String(err)));
    await tab.goto(`http://127.0.0.1:${server.port}/`);
    await tab.waitForFunction("typeof window.runCall === 'function'");
    const seen = (await tab.evaluate("window.runCall('5')")) as { callId: string | null; ended: string | null; error: string | null; maxOutDb: number; maxInDb: number; underruns: number };
    expect(errors).toEqual([]);
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
    await tab.close();
  } finally {
    await server.stop(true);
  }
}, 30_000);
