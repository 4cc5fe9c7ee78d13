import { join } from "node:path";
import { mkdirSync } from "node:fs";
import { LiveFeed } from "../admin/api-live.ts";
import { consoleToken } from "../admin/first-run-token.ts";
import type { MetricFamily } from "../admin/prometheus.ts";
import { ProviderChecks } from "../admin/provider-checks.ts";
import type { PbxCheckOutcome } from "../admin/pbx-check-route.ts";
import type { CallsApi } from "../admin/api.ts";
import { startAdminServer, type AdminServer } from "../admin/server.ts";
import { Admission } from "../call/admission.ts";
import { AdmissionQueue, clockScheduler } from "../call/admission-queue.ts";
import { newCallMetrics, providerEventsFor } from "../call/metrics.ts";
import type { CallClockTarget } from "../call/session-deps.ts";
import type { Config } from "../config/schema.ts";
import { loadTenants } from "../config/tenants.ts";
import type { Logger } from "../log.ts";
import { PlayoutClock } from "../media/playout-clock.ts";
import { RecorderFlusher } from "../media/recorder.ts";
import { createResamplerPool, defaultPoolSize, type ResamplerPool } from "../media/resampler-pool.ts";
import { pbxCallCheck } from "../install/doctor-pbx-call.ts";
import { providersCheck } from "../install/doctor-providers.ts";
import { isLoopbackHost } from "../install/firewall.ts";
import { stallReporter } from "./stall-report.ts";
import { openServeStore } from "../store/serve-store.ts";
import { parseAllowList } from "../transports/allowlist.ts";
import { startAudioSocketServer, type AudioSocketServer } from "../transports/audiosocket.ts";
import { startAudioStreamServer, type AudioStreamServer } from "../transports/audiostream.ts";
import { startAspServer, type AspServer } from "../transports/asp.ts";
import { startChanWebsocketServer, type ChanWebsocketServer } from "../transports/chan-websocket.ts";
import { BrowserCalls } from "../transports/browser-call.ts";
import { newTransportStats } from "../transports/types.ts";
import { metricFamilies } from "./serve-metrics.ts";
import { setupAi } from "./serve-ai.ts";
import { startPhrases } from "./serve-phrases.ts";
import { startPbxControl } from "./serve-pbx.ts";
import { buildProfiles } from "./serve-tenants.ts";
import { version } from "../version.ts";

export interface Runtime {
  readonly audiosocket: AudioSocketServer;
  readonly audiostream: AudioStreamServer;
  readonly asp: AspServer;
  readonly websocket: ChanWebsocketServer;
  readonly admin: AdminServer;
  /** Resolves when every tenant's phrase cache is in memory (calls before that hear the live voice for what is missing). */
  readonly phrasesReady: Promise<void>;
  stop(): Promise<void>;
  /** Stop taking calls and let the live ones end by themselves for up to `ms`; true when all did. */
  drain(ms: number): Promise<boolean>;
  readonly activeCalls: number;
}

/**
 * New-call work per turn of the event loop: a storm of calls is started a slice at a time, each
 * no longer than the room before the playout clock's next slot (clockScheduler), so no call in
 * progress waits for it. The greeting does not wait for it (it plays from the caller's
 * first audio: call/pre-roll.ts), so the slices are small; they grow once a call with no greeting
 * to play before its session (a phrase cache still rendering) has waited half a second, so none
 * nears the PBX's 2 s no-audio limit.
 */
const ADMISSION_BUDGET = { budgetMs: 2, urgentBudgetMs: 8, urgentAfterMs: 500 };

/** Everything `voicebot serve` runs, wired together; listening before it returns. */
export async function startRuntime(config: Config, log: Logger): Promise<Runtime> {
  const startedAt = Date.now();
  const tenants = loadTenants(config);
  mkdirSync(config.dataDir, { recursive: true });
  const opened = await openServeStore({ dataDir: config.dataDir, store: config.store, node: { id: config.nodeId, url: config.nodeUrl } }, log.child("store"), startedAt);
  const store = opened.writer;

  const resampler: ResamplerPool = createResamplerPool({ size: defaultPoolSize(), engine: config.resampler });
  const metrics = newCallMetrics();
  const events = providerEventsFor(metrics);
  const ai = setupAi(config, log, events, resampler);
  log.info("modes", ai.modes);
  const profiles = buildProfiles({ config, tenants, voice: ai.voice, breakers: ai.breakers, conversation: ai.conversation, resampler, log, events });
  if (tenants.all.length > 1) log.info("tenants", { ids: tenants.all.map((t) => t.id).join(","), file: config.tenantsFile ?? undefined });
  const pbx = startPbxControl(config, tenants, log);

  const clock = new PlayoutClock<CallClockTarget>((target, err) => target.hangupNow(err), stallReporter(log.child("clock")));
  const flusher = new RecorderFlusher();
  const queue = new AdmissionQueue(ADMISSION_BUDGET, (err) => log.error("a call could not be started", { error: err instanceof Error ? err.stack ?? err.message : String(err) }), clockScheduler(clock));
  const admission = new Admission({
    store, clock, flusher, metrics, resampler, log, queue,
    profile: profiles.profile,
    directory: pbx.directory,
    handOff: pbx.handOff,
    maxCalls: config.maxCalls,
    whenFull: config.whenFull,
    recordingsDir: join(config.dataDir, "recordings"),
    silenceWarningMs: config.silenceWarningSeconds * 1000,
    silenceHangupMs: config.silenceHangupSeconds * 1000,
    dtmfInband: config.dtmfInband,
    maxDurationMs: config.maxCallDurationSeconds * 1000,
  });

  // Before the listeners: a previous voice's phrases are then in memory for the very first call.
  const phrases = startPhrases(profiles, log, startedAt);

  const allow = parseAllowList(config.audiosocketAllow);
  if (allow.empty) log.warn("AUDIOSOCKET_ALLOW is empty: any host that can reach the AudioSocket port can place calls");
  const audiosocketStats = newTransportStats();
  const audiosocket = startAudioSocketServer({
    host: config.audiosocket.host, port: config.audiosocket.port, allow,
    admit: admission.admit, refusingNew: admission.refusingConnection, log: log.child("audiosocket"), stats: audiosocketStats,
  });
  if (config.esl === null) log.info(`ESL_HOST is not set: FreeSWITCH calls get no DTMF events (${config.dtmfInband === "off" ? "and DTMF_INBAND=off: no digits at all" : "digits are heard in the audio instead"}), no hang-up from the bot, no transfer and, with AUDIOSTREAM_PLAYBACK=file, no audio`);
  const audiostreamStats = newTransportStats();
  const audiostream = startAudioStreamServer({
    host: config.audiostream.host, port: config.audiostream.port, token: config.audiostreamToken,
    defaultRate: config.audiostreamRate, defaultMix: config.audiostreamMix, playback: config.audiostreamPlayback,
    resolveTenant: pbx.resolveTenant, control: pbx.media,
    admit: admission.admit, refusingNew: admission.refusingNew, log: log.child("audiostream"), stats: audiostreamStats,
  });

  const aspStats = newTransportStats();
  const asp = startAspServer({
    host: config.asp.host, port: config.asp.port, token: config.aspToken, resolveTenant: pbx.resolveTenant,
    maxSessionSeconds: config.maxCallDurationSeconds, admit: admission.admit, log: log.child("asp"), stats: aspStats,
  });
  if (config.websocketToken === null && !isLoopbackHost(config.websocket.host)) {
    log.warn("WEBSOCKET_TOKEN is empty: any host that can reach the chan_websocket port can place calls");
  }
  const websocketStats = newTransportStats();
  const websocket = startChanWebsocketServer({
    host: config.websocket.host, port: config.websocket.port, token: config.websocketToken, resolveTenant: pbx.resolveTenant,
    admit: admission.admit, refusingNew: admission.refusingNew, log: log.child("websocket"), stats: websocketStats,
  });

  const browserStats = newTransportStats();
  // The console lists the tenants: an id it does not know is refused whatever UNKNOWN_TENANT says.
  const tryCall = new BrowserCalls({
    admit: admission.admit, log: log.child("browser"), stats: browserStats,
    resolveTenant: (id) => (id === null ? tenants.default.id : tenants.find(id)?.id ?? null),
  });

  const healthBody = (): Record<string, unknown> => ({
    // Still 200 when degraded: calls are answered; the writes wait for the store.
    status: opened.health().state,
    store: opened.health(),
    version,
    activeCalls: admission.activeCalls,
    maxCalls: config.maxCalls,
    phrases: phrases.ready ? "ready" : "loading",
    ...phrases.health(),
    modes: ai.modes,
    providers: ai.breakers.snapshot(),
    listeners: {
      audiosocket: `${audiosocket.hostname}:${audiosocket.port}`,
      audiostream: `${audiostream.hostname}:${audiostream.port}`,
      asp: `${asp.hostname}:${asp.port}`,
      websocket: `${websocket.hostname}:${websocket.port}`,
    },
    control: pbx.status(),
    tenants: tenants.all.map((t) => t.id),
    uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
  });
  const metricsNow = (): MetricFamily[] => metricFamilies({
    activeCalls: admission.activeCalls, maxCalls: config.maxCalls, calls: metrics, clock: clock.stats,
    admission: { waiting: queue.length, stats: queue.stats },
    transports: { audiosocket: audiosocketStats, audiostream: audiostreamStats, asp: aspStats, browser: browserStats, websocket: websocketStats }, phrasesReady: phrases.ready, phrasesInMemory: phrases.progress(), llm: ai.llmStats,
    providers: ai.breakers.snapshot(), control: pbx.status(), store: opened.health(),
  });
  const reader = opened.reader;
  const admin = startAdminServer({
    host: config.http.host, port: config.http.port, log: log.child("admin"),
    calls: refusingWhenFull(pbx.callsApi, (uuid) => admission.reserve(uuid), log.child("admin")), tokens: { admin: config.adminToken, pbx: config.pbxToken },
    consoleToken: consoleToken(config.adminToken, config.dataDir, log.child("admin")),
    health: () => ({ ready: true, body: healthBody() }),
    metrics: metricsNow,
    tryCall,
    pbxCheck: config.ami !== null || config.esl !== null ? () => pbxCallVerdict(config) : undefined,
    console: {
      reader, self: { nodeId: config.nodeId, adminToken: config.adminToken }, live: new LiveFeed(store, reader, (uuid) => admission.hangup(uuid)),
      tenants: () => tenants.all, modes: () => ai.modes, health: healthBody, metrics: metricsNow,
      providerChecks: new ProviderChecks(async (signal) => {
        const results = await providersCheck.run({ config, configError: null, root: "/", env: process.env, signal });
        return Array.isArray(results) ? results : [results];
      }),
    },
  });

  let stopping: Promise<void> | null = null;
  return {
    audiosocket,
    audiostream,
    asp,
    websocket,
    admin,
    phrasesReady: phrases.done,
    drain: (ms) => admission.drain(ms),
    get activeCalls() {
      return admission.activeCalls;
    },
    stop: () => {
      stopping ??= (async () => {
        await admission.hangupAll();
        await Promise.all([audiosocket.stop(), audiostream.stop(), asp.stop(), websocket.stop()]);
        await pbx.stop();
        await flusher.stop();
        await admin.stop();
        clock.stop();
        await Promise.all(profiles.voices.map((tts) => tts.close().catch(() => undefined)));
        await resampler.close();
        await opened.close();
      })();
      return stopping;
    },
  };
}

/** doctor's pbx.call run by the service itself, for apply-on-pbx.sh: one verdict (both PBXes: the worse). */
async function pbxCallVerdict(config: Config): Promise<PbxCheckOutcome> {
  const ran = await pbxCallCheck.run({ config, configError: null, root: "/", env: process.env, signal: AbortSignal.timeout(pbxCallCheck.timeoutMs ?? 12_000) });
  const results = Array.isArray(ran) ? ran : [ran];
  const rank = { PASS: 0, WARN: 1, FAIL: 2 } as const;
  const worst = results.reduce((a, b) => (rank[b.status] > rank[a.status] ? b : a));
  return { status: worst.status, detail: results.map((r) => r.detail).join("; "), fix: worst.fix };
}

/** The dialplan's registration answers "full" (503) when no line can be kept for the call, so the PBX tries its next appliance. */
function refusingWhenFull(api: CallsApi, reserve: (uuid: string) => boolean, log: Logger): CallsApi {
  return {
    register: (uuid, registration) => {
      if (reserve(uuid)) return api.register(uuid, registration);
      log.warn("registration refused: full (WHEN_FULL=refuse), the PBX tries its next appliance", { call: uuid });
      return "full";
    },
    next: (uuid) => api.next(uuid),
  };
}
