/**
 * The caller's pause after speech asks the recognizer for its final at once (Finalize after
 * EARLY_FINALIZE_MS of quiet) instead of waiting for the provider's own endpointing; clicks,
 * breaths and the bot's own echo do not.
 */
import { describe, expect, test } from "bun:test";
import type { SpeechToText, SttStream } from "../../src/ai/stt/types.ts";
import { Conversation, type ConversationHost, type ConversationParts } from "../../src/call/conversation.ts";
import { EARLY_FINALIZE_MS } from "../../src/call/early-finalize.ts";
import { newCallMetrics } from "../../src/call/metrics.ts";
import { rootLogger } from "../../src/log.ts";
import { waitFor } from "../support/log-capture.ts";

const RATE = 8000;
const FRAME = 160;
const FRAME_MS = 20;

/** A recognizer that counts what it is asked. */
function countingStt(): SpeechToText & { finalizes: number; opened: boolean } {
  const stt = {
    id: "test:counting",
    finalizes: 0,
    opened: false,
    async open(): Promise<SttStream> {
      stt.opened = true;
      return {
        send: () => {},
        keepAlive: () => {},
        finalize: () => void stt.finalizes++,
        close: async () => {},
      };
    },
  };
  return stt;
}

function host(botTalking: { on: boolean }): ConversationHost {
  const playout = {
    get playing() {
      return botTalking.on;
    },
    head: { interruptible: true },
    rate: RATE,
  };
  const partial = {
    callId: 1, metrics: newCallMetrics(), log: rootLogger.child("call", { call: "early-finalize" }), playout,
    store: { addEvent: () => 1, setTurnTimings: () => {} },
    pbxStillPlaying: false,
    feed: () => {}, pauseSilence: () => {}, armSilence: () => {}, expedite: () => {},
    stopPlayback: () => {}, holdPlayback: () => {},
  };
  return partial as unknown as ConversationHost;
}

function parts(stt: SpeechToText): ConversationParts {
  return { stt, sttBreaker: null, llm: { id: "test:llm" } as ConversationParts["llm"], vad: null, language: "fr-FR", keyterms: [], bargeInMinSpeechMs: 200 };
}

const voice = new Int16Array(FRAME).map((_, i) => (i % 2 === 0 ? 6000 : -6000));
const quiet = new Int16Array(FRAME);

async function started(botTalking = { on: false }): Promise<{ conversation: Conversation; stt: ReturnType<typeof countingStt> }> {
  const stt = countingStt();
  const conversation = new Conversation(host(botTalking), parts(stt), RATE);
  conversation.start();
  await waitFor("the recognizer to open", () => stt.opened);
  await Bun.sleep(1);
  return { conversation, stt };
}

function say(conversation: Conversation, frames: number, loud: boolean): void {
  for (let i = 0; i < frames; i++) conversation.onCallerFrame(loud ? voice : quiet, loud);
}

describe("asking the recognizer for the caller's words at the first pause", () => {
  test(`${EARLY_FINALIZE_MS} ms of quiet after a phrase finalizes once; a shorter pause inside it does not`, async () => {
    const { conversation, stt } = await started();
    say(conversation, 20, true);
    say(conversation, EARLY_FINALIZE_MS / FRAME_MS - 1, false);
    say(conversation, 10, true);
    expect(stt.finalizes).toBe(0);
    say(conversation, EARLY_FINALIZE_MS / FRAME_MS - 1, false);
    expect(stt.finalizes).toBe(0);
    say(conversation, 1, false);
    expect(stt.finalizes).toBe(1);
    say(conversation, 50, false);
    expect(stt.finalizes).toBe(1);
    say(conversation, 15, true);
    say(conversation, 10, false);
    expect(stt.finalizes).toBe(2);
    conversation.stop();
  });

  test("a click or a breath (under 120 ms of sound) is not worth a Finalize", async () => {
    const { conversation, stt } = await started();
    for (let i = 0; i < 5; i++) {
      say(conversation, 3, true);
      say(conversation, 10, false);
    }
    expect(stt.finalizes).toBe(0);
    conversation.stop();
  });

  test("the bot's own voice coming back as echo while it talks finalizes nothing", async () => {
    const botTalking = { on: true };
    const { conversation, stt } = await started(botTalking);
    for (let i = 0; i < 5; i++) {
      say(conversation, 20, true);
      say(conversation, 10, false);
    }
    expect(stt.finalizes).toBe(0);
    conversation.stop();
  });
});
