/**
 * One bot turn in AI mode: the dialog's `think` becomes a streamed Reply behind one utterance in the
 * playout, and its life is written down as it goes — the bot turn's row and timings (first token,
 * first TTS byte, first and last frame), the latency histograms, and the dialog's events (tool calls,
 * the reply done, heard or failed).
 */
import { forCall } from "../ai/call-context.ts";
import type { LanguageModel } from "../ai/llm/types.ts";
import type { DialogAction } from "../dialog/types.ts";
import type { Utterance } from "../media/playout.ts";
import type { ConversationHost } from "./conversation.ts";
import { Reply } from "./reply.ts";

type ThinkAction = Extract<DialogAction, { type: "think" }>;

/** The bot turn's row, once its first audio has played. */
export interface ReplyTurnState {
  turnId: number | null;
}

/**
 * Queues the reply's utterance and starts the model. `speechEndAt` is when the caller's turn ended
 * (null when no caller turn asked for it); `track` is told of the reply before it starts, `forget`
 * when it is over, heard or failed.
 */
export function startReplyTurn(
  host: ConversationHost,
  llm: LanguageModel,
  action: ThinkAction,
  speechEndAt: number | null,
  track: (reply: Reply, state: ReplyTurnState) => void,
  forget: (reply: Reply) => void,
): void {
  const state: ReplyTurnState = { turnId: null };
  const askedAt = Date.now();
  const latency = host.metrics.turnLatency;
  const pendingTimings: { llmFirstTokenAt?: number; ttsFirstByteAt?: number } = {};
  const utterance: Utterance = {
    id: -action.replyId,
    keys: [],
    segments: [],
    interruptible: true,
    onStart: () => {
      if (utterance.segments.length === 0) return;
      host.pauseSilence();
      const at = Date.now();
      if (speechEndAt !== null) latency.firstAudio.observe(at - speechEndAt);
      state.turnId = host.store.addTurn(host.callId, { speaker: "bot", text: "", startedAt: at, replyId: action.replyId, llmProvider: llm.id });
      host.store.setTurnTimings(state.turnId, { firstFrameAt: at, ...pendingTimings });
    },
    onEnd: (interrupted) => {
      const heard = reply.heard();
      const turnId = state.turnId;
      if (turnId !== null) {
        host.store.setTurnText(turnId, heard);
        host.store.finishTurn(turnId, { endedAt: Date.now(), interrupted });
        if (!interrupted) host.store.setTurnTimings(turnId, { lastFrameAt: Date.now() });
      }
      forget(reply);
      if (interrupted) reply.abort();
      host.feed({ type: "replyHeard", replyId: action.replyId, heard, interrupted });
      if (!interrupted) host.armSilence();
    },
  };
  const reply: Reply = new Reply(action.replyId, utterance, {
    llm, tts: host.tts, resampler: host.resampler, rate: host.playout.rate,
    onFirstSegment: () => {
      if (host.playout.head === utterance) host.expedite();
    },
  }, {
    onFirstToken: (at) => {
      if (pendingTimings.llmFirstTokenAt !== undefined) return;
      pendingTimings.llmFirstTokenAt = at;
      latency.llmFirstToken.observe(at - askedAt);
    },
    onFirstAudio: (at, requestedAt) => {
      if (pendingTimings.ttsFirstByteAt !== undefined) return;
      pendingTimings.ttsFirstByteAt = at;
      latency.ttsFirstByte.observe(at - requestedAt);
    },
    onToolCall: (call) => host.feed({ type: "toolCall", replyId: action.replyId, call, at: Date.now() }),
    onDone: (text) => host.feed({ type: "replyDone", replyId: action.replyId, text }),
    onFailed: (error) => {
      host.metrics.replyFailures++;
      host.log.warn("reply failed", { reply: action.replyId, error });
      host.playout.remove(utterance);
      forget(reply);
      host.feed({ type: "replyFailed", replyId: action.replyId, error });
    },
  });
  track(reply, state);
  host.metrics.replies++;
  host.playout.enqueue(utterance);
  void forCall(host.id, () => reply.run({ messages: action.messages, tools: action.tools }));
}
