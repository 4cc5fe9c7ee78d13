/**
 * A part of an AI call that throws degrades that part only: the VAD (barge-in goes on with the
 * energy gate), the recognizer (treated as lost: one reconnect, then the keypad). Nothing reaches
 * the transport, which would end the call.
 */
import { describe, expect, test } from "bun:test";
import type { SpeechToText, SttStream } from "../../src/ai/stt/types.ts";
import { Conversation, type ConversationHost, type ConversationParts } from "../../src/call/conversation.ts";
import { newCallMetrics } from "../../src/call/metrics.ts";
import type { DialogEvent } from "../../src/dialog/types.ts";
import { rootLogger } from "../../src/log.ts";
import type { VadModule } from "../../src/media/vad.ts";
import { captureLogLines, waitFor } from "../support/log-capture.ts";

const lines = captureLogLines();
const RATE = 8000;
const FRAME = 160;

/** A recognizer whose streams throw from send() (and count how often they were opened and closed). */
function throwingStt(): SpeechToText & { opened: number; closed: number } {
  const stt = {
    id: "test:throws",
    opened: 0,
    closed: 0,
    async open(): Promise<SttStream> {
      stt.opened++;
      return {
        send: () => {
          throw new TypeError("socket.sendMedia is not a function");
        },
        keepAlive: () => {},
        finalize: () => {},
        close: async () => void stt.closed++,
      };
    },
  };
  return stt;
}

const brokenVad: VadModule = {
  create: (sampleRate, mode) => ({
    sampleRate, mode,
    free: () => {
      throw new Error("VAD: the WASM heap is gone");
    },
    isSpeech: (frame) => {
      throw new RangeError(`VAD: a frame of ${frame.length + 1} samples is not allowed at ${sampleRate} Hz`);
    },
  }),
};

/** Just what the caller-frame path of a Conversation reads: the bot is talking, interruptibly. */
function host(fed: DialogEvent[], stopped: string[]): ConversationHost {
  const playout = { playing: true, head: { interruptible: true }, rate: RATE };
  const partial = {
    callId: 1, metrics: newCallMetrics(), log: rootLogger.child("call", { call: "faulty-call" }), playout,
    store: { addEvent: () => 1, setTurnTimings: () => {} },
    pbxStillPlaying: false,
    feed: (event: DialogEvent) => void fed.push(event),
    pauseSilence: () => {}, armSilence: () => {}, expedite: () => {},
    stopPlayback: () => {
      stopped.push("stop");
      playout.playing = false;
    },
    holdPlayback: (on: boolean) => void stopped.push(on ? "hold" : "release"),
  };
  return partial as unknown as ConversationHost;
}

function parts(stt: SpeechToText, vad: VadModule | null): ConversationParts {
  return { stt, sttBreaker: null, llm: { id: "test:llm" } as ConversationParts["llm"], vad, language: "fr-FR", keyterms: [], bargeInMinSpeechMs: 200 };
}

const loud = new Int16Array(FRAME).map((_, i) => (i % 2 === 0 ? 12000 : -12000));

describe("a failing part of an AI call", () => {
  test("a VAD that throws: one WARN naming the call, the caller can still cut the bot off (energy gate), the call ends cleanly", () => {
    const fed: DialogEvent[] = [];
    const stopped: string[] = [];
    const conversation = new Conversation(host(fed, stopped), parts(throwingStt(), brokenVad), RATE);
    conversation.onBotFrame(new Int16Array(FRAME));
    for (let k = 0; k < 20; k++) conversation.onCallerFrame(loud, true);
    const warnings = lines.filter((l) => l.includes("voice activity detection failed"));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain("call=faulty-call");
    expect(warnings[0]).toContain("WARN");
    expect(warnings[0]).toContain("barge-in goes on with the energy gate alone");
    // Held from the second loud frame, then cut off once the run is long enough.
    expect(stopped).toEqual(["hold", "stop"]);
    expect(() => conversation.stop()).not.toThrow();
  });

  test("a recognizer that throws on send: lost, reconnected once, then the keypad (sttLost); nothing thrown", async () => {
    const fed: DialogEvent[] = [];
    const stt = throwingStt();
    const conversation = new Conversation(host(fed, []), parts(stt, null), RATE);
    conversation.start();
    await waitFor("the stream", () => stt.opened === 1);
    await Bun.sleep(0);
    expect(() => conversation.onCallerFrame(loud, true)).not.toThrow();
    await waitFor("the reconnect", () => stt.opened === 2);
    await Bun.sleep(0);
    expect(() => conversation.onCallerFrame(loud, true)).not.toThrow();
    expect(fed).toEqual([{ type: "sttLost" }]);
    await waitFor("both streams closed", () => stt.closed === 2);
    const lost = lines.filter((l) => l.includes("speech recognition lost"));
    expect(lost).toHaveLength(2);
    expect(lost[0]).toContain("the recognizer threw: socket.sendMedia is not a function");
    expect(lost[0]).toContain("call=faulty-call");
  });
});
