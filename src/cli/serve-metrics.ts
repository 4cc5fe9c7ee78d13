import { histogramSamples, type MetricFamily } from "../admin/prometheus.ts";
import type { BreakerSnapshot } from "../ai/circuit-breaker.ts";
import type { AdmissionStats } from "../call/admission-queue.ts";
import { LATENCY_BUCKETS_S, type LatencyHistogram } from "../call/latency-histogram.ts";
import { KEY_SEPARATOR, type CallMetrics } from "../call/metrics.ts";
import { CLOCK_BUCKETS_MS, type ClockStats } from "../media/playout-clock.ts";
import { recordingWriter } from "../media/recording-writer.ts";
import type { StoreHealth } from "../store/serve-store.ts";
import type { TransportStats } from "../transports/types.ts";

export interface MetricsSnapshot {
  activeCalls: number;
  maxCalls: number;
  calls: CallMetrics;
  clock: ClockStats;
  /** New calls waiting to be started, and the work of starting them (absent: not shown). */
  admission?: { waiting: number; stats: AdmissionStats };
  transports: Record<string, TransportStats>;
  phrasesReady: boolean;
  /** Phrase × rate pairs in memory while the set renders (absent: not shown). */
  phrasesInMemory?: { ready: number; total: number };
  /** The LLM's failover counters (AI mode only). */
  llm: { switches: number; retries: number; failures: number } | null;
  /** Each provider's circuit breaker, by provider id. */
  providers: Readonly<Record<string, BreakerSnapshot>>;
  /** Control connections to the PBX: 1 up, 0 down; absent when not configured. */
  control: { ami: boolean | null; esl: boolean | null };
  /** The store's state (PostgreSQL: its write queue); absent: not shown. */
  store?: StoreHealth;
}

function latency(name: string, help: string, h: LatencyHistogram): MetricFamily {
  return { name, help, type: "histogram", samples: histogramSamples(name, LATENCY_BUCKETS_S, h.counts, h.sumSeconds) };
}

/** Samples of a map whose keys are label values joined by KEY_SEPARATOR. */
function labelled(map: ReadonlyMap<string, number>, names: readonly string[]): MetricFamily["samples"] {
  return [...map].map(([key, value]) => {
    const parts = key.split(KEY_SEPARATOR);
    return { labels: Object.fromEntries(names.map((n, i) => [n, parts[i] ?? ""])), value };
  });
}

function admissionFamilies(a: MetricsSnapshot["admission"]): MetricFamily[] {
  if (a === undefined) return [];
  return [
    { name: "voicebot_admission_waiting", help: "Call work waiting in the admission queue: starts, digits and ends of calls (a storm is spread over the event loop's turns).", type: "gauge", samples: [{ value: a.waiting }] },
    { name: "voicebot_admission_work_seconds_total", help: "Time the admission queue spent: call starts (rows, recorder, dialog, first prompt), digits and ends.", type: "counter", samples: [{ value: a.stats.workMs / 1000 }] },
    { name: "voicebot_admission_longest_slice_seconds", help: "The longest time one turn of the event loop spent on the admission queue.", type: "gauge", samples: [{ value: a.stats.longestSliceMs / 1000 }] },
  ];
}

/** What /metrics shows: the names are a contract with dashboards, so only ever add. */
function storeFamilies(store: StoreHealth | undefined): MetricFamily[] {
  if (store === undefined) return [];
  const degraded = store.state === "ok" ? 0 : 1;
  if (store.backend === "sqlite") {
    return [
      { name: "voicebot_store_degraded", help: "1 while the store does not take writes.", type: "gauge", samples: [{ value: degraded }] },
      { name: "voicebot_store_queued_writes", help: "Writes made and not yet committed by the writer thread.", type: "gauge", samples: [{ value: store.queued }] },
      { name: "voicebot_store_dropped_writes_total", help: "Writes lost: refused by SQLite, or in a batch whose commit failed (each logged).", type: "counter", samples: [{ value: store.dropped }] },
    ];
  }
  return [
    { name: "voicebot_store_degraded", help: "1 while the store does not take writes (calls go on; writes wait in the journal).", type: "gauge", samples: [{ value: degraded }] },
    { name: "voicebot_store_queued_writes", help: "Writes waiting for the store, in memory and in the journal.", type: "gauge", samples: [{ value: store.queued }] },
    { name: "voicebot_store_journaled_writes", help: "Writes waiting in the journal file.", type: "gauge", samples: [{ value: store.journaled }] },
    { name: "voicebot_store_dropped_writes_total", help: "Writes the store refused as invalid (each logged).", type: "counter", samples: [{ value: store.dropped }] },
  ];
}

export function metricFamilies(s: MetricsSnapshot): MetricFamily[] {
  const perTransport = (pick: (t: TransportStats) => number) =>
    Object.entries(s.transports).map(([transport, t]) => ({ labels: { transport }, value: pick(t) }));
  const mem = process.memoryUsage();
  const seconds = CLOCK_BUCKETS_MS.map((ms) => ms / 1000);
  return [
    { name: "voicebot_active_calls", help: "Calls in progress (busy rejections excluded).", type: "gauge", samples: [{ value: s.activeCalls }] },
    { name: "voicebot_max_concurrent_calls", help: "MAX_CONCURRENT_CALLS.", type: "gauge", samples: [{ value: s.maxCalls }] },
    { name: "voicebot_calls_started_total", help: "Calls admitted, busy ones included.", type: "counter", samples: [{ value: s.calls.callsStarted }] },
    { name: "voicebot_calls_rejected_busy_total", help: "Calls that heard the all-lines-busy phrase.", type: "counter", samples: [{ value: s.calls.callsRejectedBusy }] },
    { name: "voicebot_calls_refused_full_total", help: "New calls refused at once while full or stopping (WHEN_FULL=refuse), so the PBX tried its next appliance.", type: "counter", samples: [{ value: s.calls.callsRefusedFull }] },
    {
      name: "voicebot_calls_ended_total", help: "Calls ended, by end reason.", type: "counter",
      samples: [...s.calls.callsEnded].map(([reason, value]) => ({ labels: { reason }, value })),
    },
    ...admissionFamilies(s.admission),
    ...storeFamilies(s.store),
    { name: "voicebot_connections_rejected_total", help: "Connections refused by the allow-list or token.", type: "counter", samples: perTransport((t) => t.connectionsRejected) },
    { name: "voicebot_protocol_errors_total", help: "Connections closed for malformed input.", type: "counter", samples: perTransport((t) => t.protocolErrors) },
    { name: "voicebot_frames_in_total", help: "Audio frames received.", type: "counter", samples: perTransport((t) => t.framesIn) },
    { name: "voicebot_frames_out_total", help: "Audio frames sent.", type: "counter", samples: perTransport((t) => t.framesOut) },
    { name: "voicebot_playout_underruns_total", help: "Frames sent as silence because the audio due was not ready.", type: "counter", samples: [{ value: s.calls.playoutUnderruns }] },
    { name: "voicebot_clock_late_ticks_total", help: "20 ms ticks that ran more than a period late.", type: "counter", samples: [{ value: s.clock.lateTicks }] },
    { name: "voicebot_clock_skipped_ticks_total", help: "20 ms ticks skipped after the event loop was blocked.", type: "counter", samples: [{ value: s.clock.skippedTicks }] },
    {
      name: "voicebot_clock_tick_lateness_seconds", help: "How late each 20 ms playout wake-up ran.", type: "histogram",
      samples: histogramSamples("voicebot_clock_tick_lateness_seconds", seconds, s.clock.latenessBuckets, s.clock.latenessSumMs / 1000),
    },
    {
      name: "voicebot_clock_tick_duration_seconds", help: "Time one playout wake-up took to write every call's frame.", type: "histogram",
      samples: histogramSamples("voicebot_clock_tick_duration_seconds", seconds, s.clock.durationBuckets, s.clock.durationSumMs / 1000),
    },
    { name: "voicebot_dtmf_total", help: "Keypad digits received.", type: "counter", samples: [{ value: s.calls.dtmfReceived }] },
    { name: "voicebot_dtmf_inband_total", help: "Keypad digits heard as tones in the caller's audio (in-band DTMF), counted in voicebot_dtmf_total too.", type: "counter", samples: [{ value: s.calls.dtmfInband }] },
    { name: "voicebot_tickets_opened_total", help: "Tickets opened.", type: "counter", samples: [{ value: s.calls.ticketsOpened }] },
    { name: "voicebot_replies_total", help: "Replies asked of the language model.", type: "counter", samples: [{ value: s.calls.replies }] },
    { name: "voicebot_reply_failures_total", help: "Replies that failed after their retries (LLM or TTS).", type: "counter", samples: [{ value: s.calls.replyFailures }] },
    { name: "voicebot_scribes_total", help: "Scribe completions asked (one per caller turn): they write the ticket's facts beside the reply.", type: "counter", samples: [{ value: s.calls.scribes }] },
    { name: "voicebot_scribe_failures_total", help: "Scribes that failed or missed their deadline (the ticket keeps the facts it had).", type: "counter", samples: [{ value: s.calls.scribeFailures }] },
    { name: "voicebot_barge_ins_total", help: "Times a caller cut the bot off by speaking.", type: "counter", samples: [{ value: s.calls.bargeIns }] },
    { name: "voicebot_fillers_total", help: "Filler phrases played because a reply was late.", type: "counter", samples: [{ value: s.calls.fillers }] },
    { name: "voicebot_stt_reconnects_total", help: "Speech-recognition streams reopened after a loss.", type: "counter", samples: [{ value: s.calls.sttReconnects }] },
    { name: "voicebot_stt_lost_total", help: "Calls moved to the keypad because recognition could not be restored or missed a turn's deadline.", type: "counter", samples: [{ value: s.calls.sttLost }] },
    { name: "voicebot_stt_deadline_misses_total", help: "Caller turns with no final result within 2.5 s of their speech end (each moved its call to the keypad).", type: "counter", samples: [{ value: s.calls.sttDeadlineMisses }] },
    { name: "voicebot_llm_switches_total", help: "Turns moved to the other LLM provider (first token too slow, or errors).", type: "counter", samples: [{ value: s.llm?.switches ?? 0 }] },
    { name: "voicebot_llm_retries_total", help: "LLM requests retried.", type: "counter", samples: [{ value: s.llm?.retries ?? 0 }] },
    { name: "voicebot_transfers_total", help: "Callers handed to a technician by the PBX.", type: "counter", samples: [{ value: s.calls.transfers }] },
    { name: "voicebot_transfer_failures_total", help: "Hand-offs the PBX could not take (the caller was told).", type: "counter", samples: [{ value: s.calls.transferFailures }] },
    {
      name: "voicebot_esl_playback_deferred_total", help: "FreeSWITCH file mode: chunks of the bot's audio that waited for ESL to come back before they could be played.", type: "counter",
      samples: [{ value: s.transports.audiostream?.playbackDeferred ?? 0 }],
    },
    {
      name: "voicebot_esl_playback_dropped_total", help: "FreeSWITCH file mode: chunks of the bot's audio never played because ESL stayed down (past the wait limit, or until the call ended).", type: "counter",
      samples: [{ value: s.transports.audiostream?.playbackDropped ?? 0 }],
    },
    {
      name: "voicebot_websocket_playback_dropped_total", help: "Asterisk chan_websocket: frames of the bot's audio not sent because Asterisk's queue was full (MEDIA_XOFF).", type: "counter",
      samples: [{ value: s.transports.websocket?.playbackDropped ?? 0 }],
    },
    {
      name: "voicebot_pbx_control_up", help: "1 when the PBX control connection (AMI, ESL) is logged in.", type: "gauge",
      samples: (["ami", "esl"] as const).flatMap((link) => s.control[link] === null ? [] : [{ labels: { link }, value: s.control[link] ? 1 : 0 }]),
    },
    { name: "voicebot_tenant_calls_started_total", help: "Calls admitted, by tenant.", type: "counter", samples: labelled(s.calls.callsStartedByTenant, ["tenant"]) },
    { name: "voicebot_tenant_calls_ended_total", help: "Calls ended, by tenant and end reason.", type: "counter", samples: labelled(s.calls.callsEndedByTenant, ["tenant", "reason"]) },
    latency("voicebot_turn_stt_seconds", "The caller's last word to the recognizer's final text.", s.calls.turnLatency.stt),
    latency("voicebot_turn_llm_first_token_seconds", "A reply asked of the language model to its first token.", s.calls.turnLatency.llmFirstToken),
    latency("voicebot_turn_tts_first_byte_seconds", "A sentence sent to the voice to its first audio.", s.calls.turnLatency.ttsFirstByte),
    latency("voicebot_turn_first_audio_seconds", "The caller's last word to the reply's first frame on the wire (the turn, as the caller feels it).", s.calls.turnLatency.firstAudio),
    { name: "voicebot_provider_errors_total", help: "Failed provider requests, by provider and kind (auth, rate_limit, timeout, server, client, network).", type: "counter", samples: labelled(s.calls.providerErrors, ["provider", "kind"]) },
    { name: "voicebot_provider_fallbacks_total", help: "Parts moved elsewhere: LLM to the other provider, speech recognition to the keypad.", type: "counter", samples: labelled(s.calls.fallbacks, ["from", "to", "reason"]) },
    {
      name: "voicebot_provider_circuit_open", help: "1 while a provider's circuit breaker skips it (open, or half-open waiting for its trial request).", type: "gauge",
      samples: Object.entries(s.providers).map(([provider, b]) => ({ labels: { provider }, value: b.state === "closed" ? 0 : 1 })),
    },
    {
      name: "voicebot_provider_circuit_opens_total", help: "Times a provider's circuit breaker opened after repeated failures.", type: "counter",
      samples: Object.entries(s.providers).map(([provider, b]) => ({ labels: { provider }, value: b.opens })),
    },
    { name: "voicebot_phrases_ready", help: "1 once the phrase cache is in memory.", type: "gauge", samples: [{ value: s.phrasesReady ? 1 : 0 }] },
    ...(s.phrasesInMemory === undefined ? [] : [
      { name: "voicebot_phrases_in_memory", help: "Fixed phrases ready to play (phrase × rate × tenant); until all are, the live voice speaks the others.", type: "gauge" as const, samples: [{ value: s.phrasesInMemory.ready }] },
      { name: "voicebot_phrases_total", help: "Fixed phrases to render (phrase × rate × tenant).", type: "gauge" as const, samples: [{ value: s.phrasesInMemory.total }] },
    ]),
    { name: "process_resident_memory_bytes", help: "Resident set size.", type: "gauge", samples: [{ value: mem.rss }] },
    { name: "voicebot_recording_buffer_bytes", help: "Shared memory holding recorded audio on its way to disk (released as calls end).", type: "gauge", samples: [{ value: recordingWriter().poolUsage.bytes }] },
  ];
}
