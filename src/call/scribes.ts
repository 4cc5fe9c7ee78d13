/**
 * The scribes of a call in AI mode: each `scribe` action is one completion with a forced tool call,
 * run beside the reply (never in its way), whose call goes back to the dialog as scribeDone. One
 * that fails or misses its deadline becomes scribeFailed: the ticket keeps what it had, and a
 * decision to end the call that waited for it goes ahead.
 */
import { forCall } from "../ai/call-context.ts";
import type { LanguageModel, ToolCall } from "../ai/llm/types.ts";
import type { DialogAction, DialogEvent } from "../dialog/types.ts";
import type { Logger } from "../log.ts";
import type { CallMetrics } from "./metrics.ts";

type ScribeAction = Extract<DialogAction, { type: "scribe" }>;

/**
 * A scribe's answer is due within this: a transfer or goodbye may be waiting for it, in silence
 * when the model decided with no words (as long as the recognizer's own deadline).
 */
export const SCRIBE_DEADLINE_MS = 2500;

export interface ScribeHost {
  /** The call's UUID: the providers' warnings name it. */
  readonly id: string;
  readonly log: Logger;
  readonly metrics: CallMetrics;
  feed(event: DialogEvent): void;
}

export class Scribes {
  private readonly running = new Set<AbortController>();
  private stopped = false;

  constructor(
    private readonly host: ScribeHost,
    private readonly llm: LanguageModel,
    private readonly deadlineMs: number = SCRIBE_DEADLINE_MS,
  ) {}

  ask(action: ScribeAction): void {
    if (this.stopped) return;
    const controller = new AbortController();
    this.running.add(controller);
    this.host.metrics.scribes++;
    const timer = setTimeout(() => controller.abort(new Error(`no facts within ${this.deadlineMs} ms (timed out)`)), this.deadlineMs);
    /** `event` null: the call is over, nothing is told. */
    const settle = (event: DialogEvent | null): void => {
      clearTimeout(timer);
      this.running.delete(controller);
      if (event !== null && !this.stopped) this.host.feed(event);
    };
    forCall(this.host.id, () => this.write(action, controller.signal)).then(
      (call) => settle({ type: "scribeDone", scribeId: action.scribeId, call }),
      (error: unknown) => {
        if (this.stopped) return settle(null);
        const message = error instanceof Error ? error.message : String(error);
        this.host.metrics.scribeFailures++;
        this.host.log.warn("scribe failed: the ticket keeps the facts it had", { scribe: action.scribeId, error: message });
        settle({ type: "scribeFailed", scribeId: action.scribeId, error: message });
      },
    );
  }

  /** The call is over: scribes in flight are cut and report nothing. */
  stop(): void {
    this.stopped = true;
    for (const controller of this.running) controller.abort(new DOMException("the call ended", "AbortError"));
    this.running.clear();
  }

  /** The first call of the forced tool; the model's words, if any, are not for anyone's ears. */
  private async write(action: ScribeAction, signal: AbortSignal): Promise<ToolCall | null> {
    for await (const chunk of this.llm.stream({ messages: action.messages, tools: [action.tool], toolChoice: action.tool.name, signal })) {
      if (chunk.type === "toolCall") return chunk.call;
    }
    return null;
  }
}
