/**
 * doctor's live checks of Google Cloud speech with the product's own clients: the service account
 * accepted, the recognizer's model and the voice known, and each one's latency against its share of
 * the turn budget (provider-probe.ts holds the budget and the other vendors).
 */
import { createGoogleStt } from "../ai/stt/google.ts";
import { createGoogleTts } from "../ai/tts/google.ts";
import type { GoogleCredentials } from "../config/schema.ts";
import { rootLogger } from "../log.ts";
import { BUDGET_MS, firstAudio, judged, PROBE_TIMEOUT_MS, refused, speechLike, type ProbeResult } from "./provider-probe.ts";

const log = rootLogger.child("doctor");
const KEY_NAME = "GOOGLE_APPLICATION_CREDENTIALS";

interface GoogleProbe {
  credentials: GoogleCredentials;
  endpoint: string | null;
  signal: AbortSignal;
}

/**
 * Google has no Finalize: a second of phone audio, then the half-close, and the time until Google
 * has answered what it heard and ended the stream (a refused key or unknown model ends it with why).
 */
export async function probeGoogleStt(o: GoogleProbe & { model: string; language: string }): Promise<ProbeResult> {
  const what = `google ${o.model}`;
  const closed = Promise.withResolvers<Error | null>();
  try {
    const stt = createGoogleStt({ credentials: o.credentials, endpoint: o.endpoint, model: o.model, log });
    const stream = await stt.open({ sampleRate: 8000, language: o.language, keyterms: [] }, { onEvent: () => {}, onClosed: (error) => closed.resolve(error) });
    const pcm = speechLike(8000);
    for (let i = 0; i < pcm.length; i += 160) stream.send(pcm.subarray(i, i + 160));
    const sent = performance.now();
    const aborted = new Promise<never>((_, reject) => o.signal.addEventListener("abort", () => reject(new Error("no answer before the time limit")), { once: true }));
    void stream.close();
    const error = await Promise.race([closed.promise, aborted]);
    if (error === null) return judged(what, performance.now() - sent, BUDGET_MS.stt, "answered the utterance");
    const status = (error as { status?: unknown }).status;
    if (status === 400 || status === 404) {
      return { ok: false, status: "FAIL", detail: `${what}: refused the recognition settings (${error.message})`, fix: `set GOOGLE_STT_MODEL to a model of ${o.language}, e.g. telephony or latest_short`, ms: null };
    }
    return refused(what, error, KEY_NAME);
  } catch (err) {
    return refused(what, err, KEY_NAME);
  }
}

/** Google's voice at a phone call's 8 kHz, as calls ask for it: the account, the voice, the first byte. */
export async function probeGoogleTts(o: GoogleProbe & { voice: string }): Promise<ProbeResult> {
  const what = `google ${o.voice}`;
  let result: ProbeResult;
  try {
    const tts = createGoogleTts({ credentials: o.credentials, endpoint: o.endpoint, voice: o.voice, timeoutMs: PROBE_TIMEOUT_MS, log });
    result = await firstAudio(what, tts.atRate?.(8000) ?? tts, o.signal, { keyName: KEY_NAME, noAudioFix: "check GOOGLE_TTS_VOICE" });
  } catch (err) {
    return refused(what, err, KEY_NAME);
  }
  if (!result.ok && /NOT_FOUND|INVALID_ARGUMENT/.test(result.detail)) {
    return { ...result, detail: `${what}: no such voice for this account (${result.detail.replace(`${what}: `, "")})`, fix: "set GOOGLE_TTS_VOICE to a voice of the calls' language, e.g. fr-FR-Chirp3-HD-Aoede, en-US-Chirp3-HD-Aoede, pt-BR-Chirp3-HD-Aoede" };
  }
  return result;
}
