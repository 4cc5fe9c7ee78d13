import { afterEach, describe, expect, test } from "bun:test";
import { status as Status } from "@grpc/grpc-js";
import { createGoogleStt } from "../../src/ai/stt/google.ts";
import type { SttEvent, SttStream } from "../../src/ai/stt/types.ts";
import { ProviderError } from "../../src/ai/provider-error.ts";
import { rootLogger } from "../../src/log.ts";
import { startFakeGoogle, type FakeGoogle } from "../fakes/google.ts";
import type { FakeGoogleSttOptions } from "../fakes/google-stt.ts";
import { renderSpeech } from "../fakes/speech.ts";

const log = rootLogger.child("google-stt-test");
const credentials = { path: "/dev/null", clientEmail: "voicebot@fake.iam.gserviceaccount.com", privateKey: "-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----", projectId: "fake" };
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

interface Rig { google: FakeGoogle; stream: SttStream; events: SttEvent[]; closed: (Error | null)[] }

async function rig(stt: FakeGoogleSttOptions, rolloverMs?: number): Promise<Rig> {
  const google = await startFakeGoogle({ stt });
  const recognizer = createGoogleStt({ credentials, endpoint: google.endpoint, model: "telephony", log, rolloverMs });
  const events: SttEvent[] = [];
  const closed: (Error | null)[] = [];
  const stream = await recognizer.open({ sampleRate: 8000, language: "fr-FR", keyterms: ["Acme"] }, { onEvent: (e) => events.push(e), onClosed: (e) => closed.push(e) });
  cleanups.push(async () => {
    await stream.close();
    await google.stop();
  });
  return { google, stream, events, closed };
}

/** Speech then (by default) 600 ms of silence, in 20 ms frames. */
function say(stream: SttStream, silenceFrames = 30): void {
  const pcm = renderSpeech("une phrase", 65, 8000);
  for (let i = 0; i < pcm.length; i += 160) stream.send(pcm.subarray(i, i + 160));
  for (let i = 0; i < silenceFrames; i++) stream.send(new Int16Array(160));
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 300 && !check(); i++) await Bun.sleep(10);
  expect(check()).toBe(true);
}

const finals = (events: SttEvent[]): string[] => events.flatMap((e) => (e.type === "transcript" && e.isFinal ? [e.text] : []));

describe("Google STT against the fake gRPC server", () => {
  test("LINEAR16 at the call's rate in, speech start, interim and final results out; config as asked", async () => {
    const r = await rig({ script: ["bonjour mon lave-linge fuit"] });
    say(r.stream);
    await until(() => finals(r.events).length === 1);
    expect(finals(r.events)).toEqual(["bonjour mon lave-linge fuit"]);
    expect(r.events[0]).toEqual({ type: "speechStarted" });
    const final = r.events.find((e) => e.type === "transcript" && e.isFinal);
    expect(final).toEqual({ type: "transcript", text: "bonjour mon lave-linge fuit", isFinal: true, speechFinal: true, fromFinalize: false });
    expect(r.google.stt.streams[0]?.config).toMatchObject({ encoding: "LINEAR16", sampleRateHertz: 8000, languageCode: "fr-FR", model: "telephony", interimResults: true, enableVoiceActivityEvents: true });
  });

  test("finalize: Google's final for the words so far comes at once (fromFinalize) on a half-close, the next stream takes the audio; nothing pending is answered empty", async () => {
    const r = await rig({ script: ["je voudrais", "un technicien"], endpointingMs: 5000 });
    say(r.stream, 5);
    await until(() => r.events.some((e) => e.type === "transcript" && !e.isFinal));
    r.stream.finalize();
    await until(() => finals(r.events).length === 1);
    expect(r.events.find((e) => e.type === "transcript" && e.isFinal)).toEqual({ type: "transcript", text: "je voudrais", isFinal: true, speechFinal: true, fromFinalize: true });
    expect(r.google.stt.streams.map((s) => [s.chain, s.ended])).toEqual([[0, "client"], [0, null]]);
    r.stream.finalize();
    await until(() => finals(r.events).length === 2);
    expect(r.events.at(-1)).toEqual({ type: "transcript", text: "", isFinal: true, speechFinal: false, fromFinalize: true });
    say(r.stream, 5);
    r.stream.finalize();
    await until(() => finals(r.events).length === 3);
    expect(finals(r.events)).toEqual(["je voudrais", "", "un technicien"]);
    expect(r.closed).toEqual([]);
  });

  test("the rollover: a new stream opens before Google's cap, and words on both sides of the switch arrive", async () => {
    const r = await rig({ script: ["avant la bascule", "après la bascule"], streamLimitMs: 900 }, 500);
    say(r.stream);
    await until(() => finals(r.events).length === 1);
    await until(() => r.google.stt.streams.length === 2);
    say(r.stream);
    await until(() => finals(r.events).length === 2);
    expect(finals(r.events)).toEqual(["avant la bascule", "après la bascule"]);
    expect(r.google.stt.streams[0]?.ended).toBe("client");
    expect(r.closed).toEqual([]);
  });

  test("Google's cap reached before the rollover (OUT_OF_RANGE): the stream reopens at once and the call never sees it", async () => {
    const r = await rig({ script: ["premier flux", "second flux"], streamLimitMs: 1000 }, 60_000);
    say(r.stream);
    await until(() => finals(r.events).length === 1);
    await until(() => r.google.stt.streams.length === 2);
    expect(r.google.stt.streams[0]?.ended).toBe("limit");
    say(r.stream);
    await until(() => finals(r.events).length === 2);
    expect(finals(r.events)).toEqual(["premier flux", "second flux"]);
    expect(r.closed).toEqual([]);
  });

  test("a refused key, a dropped stream: onClosed with a ProviderError of the right kind", async () => {
    const google = await startFakeGoogle({});
    cleanups.push(() => google.stop());
    const recognizer = createGoogleStt({ credentials, endpoint: google.endpoint, model: "telephony", log });
    const closed: (Error | null)[] = [];
    const handlers = { onEvent: () => {}, onClosed: (e: Error | null) => void closed.push(e) };
    google.stt.failNext({ kind: "status", code: Status.UNAUTHENTICATED, message: "Request had invalid authentication credentials." });
    const refused = await recognizer.open({ sampleRate: 8000, language: "fr-FR", keyterms: [] }, handlers);
    await until(() => closed.length === 1);
    expect(closed[0]).toBeInstanceOf(ProviderError);
    expect([(closed[0] as ProviderError).status, (closed[0] as ProviderError).retryable]).toEqual([401, false]);
    await refused.close();

    google.stt.failNext({ kind: "drop", afterMs: 50 });
    const dropped = await recognizer.open({ sampleRate: 8000, language: "fr-FR", keyterms: [] }, handlers);
    dropped.send(new Int16Array(160));
    await until(() => closed.length === 2);
    expect([(closed[1] as ProviderError).status, (closed[1] as ProviderError).retryable]).toEqual([503, true]);
    await dropped.close();
  });
});
