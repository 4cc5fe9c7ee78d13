import { join } from "node:path";
import { mkdirSync } from "node:fs";
import { startAdminServer, type AdminServer } from "../admin/server.ts";
import { Admission } from "../call/admission.ts";
import { newCallMetrics } from "../call/metrics.ts";
import type { CallSession } from "../call/session.ts";
import type { Config } from "../config/schema.ts";
import { phraseTexts } from "../dialog/phrases.ts";
import { createSavDialog } from "../dialog/sav.ts";
import { createAiSavDialog } from "../dialog/sav-ai.ts";
import { parseTechHours } from "../dialog/business-hours.ts";
import type { Logger } from "../log.ts";
import { COMMON_RATES } from "../media/pcm.ts";
import { PhraseCache } from "../media/phrase-cache.ts";
import { PlayoutClock } from "../media/playout-clock.ts";
import { RecorderFlusher } from "../media/recorder.ts";
import { createResamplerPool, defaultPoolSize, type ResamplerPool } from "../media/resampler-pool.ts";
import { Store } from "../store/store.ts";
import { parseAllowList } from "../transports/allowlist.ts";
import { startAudioSocketServer, type AudioSocketServer } from "../transports/audiosocket.ts";
import { newTransportStats } from "../transports/types.ts";
import { metricFamilies } from "./serve-metrics.ts";
import { setupAi } from "./serve-ai.ts";
import { version } from "./version.ts";

export interface Runtime {
  readonly audiosocket: AudioSocketServer;
  readonly admin: AdminServer;
  /** Resolves when the phrase cache is in memory (calls before that wait for their greeting). */
  readonly phrasesReady: Promise<void>;
  stop(): Promise<void>;
}

/** Everything `voicebot serve` runs, wired together; listening before it returns. */
export function startRuntime(config: Config, log: Logger): Runtime {
  const startedAt = Date.now();
  mkdirSync(config.dataDir, { recursive: true });
  const store = Store.open(config.dataDir);
  store.checkpointInBackground(log.child("store"));
  const interrupted = store.closeInterruptedCalls(startedAt);
  if (interrupted > 0) log.warn("calls left open by an earlier crash were closed", { count: interrupted });

  const resampler: ResamplerPool = createResamplerPool({ size: defaultPoolSize(), engine: config.resampler });
  const ai = setupAi(config, log);
  const tts = ai.tts;
  log.info("modes", ai.modes);
  const techHours = parseTechHours(config.techHours);
  const texts = phraseTexts(config.language);
  const phrases = new PhraseCache({ texts, tts, resampler, language: config.language, cacheDir: join(config.dataDir, "cache", "phrases"), log: log.child("phrases") });

  const metrics = newCallMetrics();
  const clock = new PlayoutClock<CallSession>((session, err) => {
    log.error("a call's playout failed; ending that call", { call: session.id, error: err instanceof Error ? err.stack ?? err.message : String(err) });
    session.hangupNow();
  });
  const flusher = new RecorderFlusher();
  const admission = new Admission({
    store, phrases, texts, clock, flusher, metrics, tts, resampler,
    conversation: ai.conversation,
    newDialog: ai.conversation
      // AudioSocket has no transfer control yet (AMI comes with the FreeSWITCH issue): callbacks instead.
      ? () => createAiSavDialog({ language: config.language, companyName: config.companyName, techHours, timezone: config.timezone, canTransfer: false })
      : () => createSavDialog(),
    log,
    maxCalls: config.maxCalls,
    recordingsDir: join(config.dataDir, "recordings"),
    silenceWarningMs: config.silenceWarningSeconds * 1000,
    silenceHangupMs: config.silenceHangupSeconds * 1000,
    maxDurationMs: config.maxCallDurationSeconds * 1000,
  });

  const allow = parseAllowList(config.audiosocketAllow);
  if (allow.empty) log.warn("AUDIOSOCKET_ALLOW is empty: any host that can reach the AudioSocket port can place calls");
  const audiosocketStats = newTransportStats();
  const audiosocket = startAudioSocketServer({
    host: config.audiosocket.host, port: config.audiosocket.port, allow,
    admit: admission.admit, log: log.child("audiosocket"), stats: audiosocketStats,
  });

  let ready = false;
  const phrasesReady = phrases.diskState(COMMON_RATES).then((disk) => {
    if (disk.state === "stale") log.warn(`phrase cache is stale (${disk.reason}): run \`voicebot cache build\`; rendering what is missing now`);
    else if (disk.state === "missing") log.info("phrase cache not built for this voice: rendering it now (`voicebot cache build` does it ahead of time)", { reason: disk.reason });
    return phrases.prepare(COMMON_RATES);
  }).then(() => {
    ready = true;
    log.info("phrases ready", { language: config.language, rates: COMMON_RATES.join(","), ms: Date.now() - startedAt });
  });
  phrasesReady.catch((err: unknown) => log.error("phrases could not be rendered: calls will get no greeting", { error: String(err) }));

  const admin = startAdminServer({
    host: config.http.host, port: config.http.port, log: log.child("admin"),
    health: () => ({
      ready: true,
      body: {
        status: "ok",
        version,
        activeCalls: admission.activeCalls,
        maxCalls: config.maxCalls,
        phrases: ready ? "ready" : "loading",
        modes: ai.modes,
        listeners: { audiosocket: `${audiosocket.hostname}:${audiosocket.port}` },
        uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
      },
    }),
    metrics: () => metricFamilies({
      activeCalls: admission.activeCalls, maxCalls: config.maxCalls, calls: metrics, clock: clock.stats,
      transports: { audiosocket: audiosocketStats }, phrasesReady: ready, llm: ai.llmStats,
    }),
  });

  let stopping: Promise<void> | null = null;
  return {
    audiosocket,
    admin,
    phrasesReady,
    stop: () => {
      stopping ??= (async () => {
        await admission.hangupAll();
        await audiosocket.stop();
        await flusher.stop();
        await admin.stop();
        clock.stop();
        await tts.close().catch(() => undefined);
        await resampler.close();
        await store.stopBackgroundCheckpoints();
        store.close();
      })();
      return stopping;
    },
  };
}
