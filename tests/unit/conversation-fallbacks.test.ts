import { describe, expect, test } from "bun:test";
import { CircuitBreaker } from "../../src/ai/circuit-breaker.ts";
import type { LanguageModel } from "../../src/ai/llm/types.ts";
import type { SpeechToText, SttHandlers } from "../../src/ai/stt/types.ts";
import type { TextToSpeech } from "../../src/ai/tts/types.ts";
import { Conversation, type ConversationHost, type ConversationParts } from "../../src/call/conversation.ts";
import { KEY_SEPARATOR, newCallMetrics } from "../../src/call/metrics.ts";
import type { DialogEvent } from "../../src/dialog/types.ts";
import type { Logger } from "../../src/log.ts";
import type { PhraseCache } from "../../src/media/phrase-cache.ts";
import { Playout, type Utterance } from "../../src/media/playout.ts";
import type { ResamplerPool } from "../../src/media/resampler.ts";
import type { Store } from "../../src/store/store.ts";

const quiet: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined, child: () => quiet };

/** A model that never gives a first token: only the caller's abort ends it. */
const stalledLlm: LanguageModel = {
  id: "stalled:model",
  async *stream(request) {
    await new Promise<void>((_, reject) => request.signal?.addEventListener("abort", () => reject(request.signal?.reason), { once: true }));
  },
};

const unusedTts: TextToSpeech = { voiceId: "none", sampleRate: 24000, synthesize: async function* () {}, close: async () => undefined };

/** Just enough of the store for a conversation's rows. */
function storeStub(): Store {
  let id = 0;
  const next = (): number => ++id;
  return { addTurn: next, setTurnTimings: () => undefined, setTurnText: () => undefined, finishTurn: () => undefined, addEvent: () => undefined } as unknown as Store;
}

function rig(extra: Partial<ConversationParts> = {}) {
  const events: DialogEvent[] = [];
  const opened: SttHandlers[] = [];
  const stt: SpeechToText = {
    id: "fake:stt",
    open: async (_options, handlers) => {
      opened.push(handlers);
      return { send: () => undefined, keepAlive: () => undefined, finalize: () => undefined, close: async () => undefined };
    },
  };
  const playout = new Playout(8000);
  const metrics = newCallMetrics();
  // 100 ms of audio for every phrase.
  const phrases = { get: () => new Int16Array(800) } as unknown as PhraseCache;
  let replyId = 0;
  const host: ConversationHost = {
    callId: 1, id: "3f1c0a52-0000-4000-8000-000000000001", playout, store: storeStub(), phrases, metrics, log: quiet, tts: unusedTts,
    resampler: {} as ResamplerPool,
    feed: (event) => {
      events.push(event);
      if (event.type === "callerSaid") conversation.think({ type: "think", replyId: ++replyId, messages: [], tools: [] });
    },
    pauseSilence: () => undefined, armSilence: () => undefined, expedite: () => undefined, stopPlayback: () => undefined, holdPlayback: () => undefined,
    pbxStillPlaying: false,
  };
  const parts: ConversationParts = {
    stt, sttBreaker: null, llm: stalledLlm, vad: null, language: "fr-FR", keyterms: [], bargeInMinSpeechMs: 200, fillerDelayMs: 40, ...extra,
  };
  const conversation = new Conversation(host, parts, 8000);
  return { conversation, events, opened, playout, metrics };
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (condition()) return;
    await Bun.sleep(5);
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe("conversation: what covers a late reply", () => {
  test("a filler, then 'still working' after each further gap, three phrases at most", async () => {
    const { conversation, opened, playout, metrics } = rig();
    conversation.start();
    await until(() => opened.length === 1, "the recognizer to open");
    opened[0]?.onEvent({ type: "transcript", text: "ma box ne marche pas", isFinal: true, speechFinal: true, fromFinalize: false });
    const heard: string[] = [];
    let last: Utterance | undefined;
    // The playout clock, faster than real time: each phrase plays out in a few ms.
    const clock = setInterval(() => {
      const head = playout.head;
      if (head !== last && head?.keys[0] !== undefined) heard.push(head.keys[0]);
      last = head;
      for (let i = 0; i < 10; i++) playout.nextFrame();
    }, 2);
    try {
      await until(() => metrics.fillers === 3, "three fillers");
      await Bun.sleep(200);
    } finally {
      clearInterval(clock);
      conversation.stop();
    }
    expect(metrics.fillers).toBe(3);
    expect(heard).toEqual(["filler", "stillWorking", "stillWorking"]);
  });
});

describe("conversation: the recognizer's circuit breaker", () => {
  test("open: no recognizer is opened, the call goes to the keypad after its start event", async () => {
    const breaker = new CircuitBreaker("fake:stt", { failures: 1, cooldownMs: 60_000, log: quiet });
    breaker.failure("stalled");
    const { conversation, events, opened, metrics } = rig({ sttBreaker: breaker });
    conversation.start();
    expect(events).toEqual([]);
    await Bun.sleep(0);
    expect(events).toEqual([{ type: "sttLost" }]);
    expect(opened).toEqual([]);
    expect(metrics.fallbacks.get(["fake:stt", "keypad", "circuit-open"].join(KEY_SEPARATOR))).toBe(1);
  });

  test("a lost recognizer counts as a failure, a final transcript as a success", async () => {
    const breaker = new CircuitBreaker("fake:stt", { failures: 5, cooldownMs: 60_000, log: quiet });
    const { conversation, opened } = rig({ sttBreaker: breaker });
    conversation.start();
    await until(() => opened.length === 1, "the recognizer to open");
    opened[0]?.onClosed(new Error("socket closed"));
    expect(breaker.snapshot().failures).toBe(1);
    await until(() => opened.length === 2, "the recognizer to reopen");
    opened[1]?.onEvent({ type: "transcript", text: "allô", isFinal: true, speechFinal: false, fromFinalize: false });
    expect(breaker.snapshot().failures).toBe(0);
    conversation.stop();
  });
});
