/**
 * One reply of the bot in AI mode: the model's words stream into a sentence splitter, each
 * complete sentence goes to TTS at once, and the audio is appended to one streamed utterance
 * while the rest is still being written and synthesized. Abort (barge-in, hang-up) stops the
 * model and every TTS download at once.
 */
import type { ChatMessage, LanguageModel, ToolCall, ToolSpec } from "../ai/llm/types.ts";
import { SentenceSplitter } from "../dialog/sentences.ts";
import type { Utterance } from "../media/playout.ts";
import { UtteranceFeeder, type FeederDeps } from "./utterance-feeder.ts";

/**
 * The first piece of a reply goes to TTS at its first comma ("Oui," "Parfait,") or, without one,
 * after its third word ("Débranchez votre box"): the caller hears the bot a few tokens after the
 * model starts, not a sentence later; the next piece downloads while that one plays. Three words
 * are about a second of speech: time enough for the next piece at the slowest model's pace.
 */
const FIRST_CLAUSE_CHARS = 2;
const FIRST_WORDS = 3;

export interface ReplyHooks {
  /** The model's first text or tool call (time to first token), and which provider gave it. */
  onFirstToken(at: number): void;
  /** The first TTS bytes of the reply, and when that piece was asked of the voice. */
  onFirstAudio(at: number, requestedAt: number): void;
  onToolCall(call: ToolCall): void;
  /** The model finished and its speech is downloaded: everything it wrote (played or not yet). */
  onDone(text: string): void;
  /** Nothing usable came: the model or the first sentence's TTS failed (after its retries). */
  onFailed(error: string): void;
}

export interface ReplyRequest {
  messages: ChatMessage[];
  tools: ToolSpec[];
}

export type ReplyDeps = Omit<FeederDeps, "signal" | "onFirstAudio"> & { llm: LanguageModel };

export class Reply {
  private readonly controller = new AbortController();
  /** Stops only the model (its speech failed); `controller` stops everything (barge-in). */
  private readonly modelStop = new AbortController();
  /** Why the reply's speech stopped early, when TTS failed after its retries. */
  private ttsError: string | null = null;
  private readonly feeder: UtteranceFeeder;
  private text = "";
  /** The sentences given to the voice so far: the reply, if the model breaks off mid-way. */
  private spoken: string[] = [];
  private settled = false;

  constructor(
    readonly id: number,
    utterance: Utterance,
    private readonly deps: ReplyDeps,
    private readonly hooks: ReplyHooks,
  ) {
    this.feeder = new UtteranceFeeder(utterance, {
      ...deps, signal: this.controller.signal,
      onFirstAudio: (requestedAt) => hooks.onFirstAudio(Date.now(), requestedAt),
    });
    this.feeder.done.catch((err: unknown) => {
      if (this.aborted) return;
      this.ttsError = err instanceof Error ? err.message : String(err);
      this.modelStop.abort(new DOMException("speech failed", "AbortError"));
    });
  }

  get utterance(): Utterance {
    return this.feeder.utterance;
  }

  get aborted(): boolean {
    return this.controller.signal.aborted;
  }

  /**
   * Runs the model; resolves when the reply's audio is fully known (not yet played). Never
   * rejects: the outcome goes to the hooks (nothing at all when aborted).
   */
  async run(request: ReplyRequest): Promise<void> {
    const splitter = new SentenceSplitter({ firstClause: FIRST_CLAUSE_CHARS, firstWords: FIRST_WORDS });
    let first = true;
    const signal = AbortSignal.any([this.controller.signal, this.modelStop.signal]);
    try {
      const stream = this.deps.llm.stream({ messages: request.messages, tools: request.tools, signal });
      for await (const chunk of stream) {
        if (first) {
          first = false;
          this.hooks.onFirstToken(Date.now());
        }
        if (chunk.type === "toolCall") {
          this.hooks.onToolCall(chunk.call);
          continue;
        }
        this.text += chunk.text;
        for (const sentence of splitter.push(chunk.text)) this.speak(sentence);
      }
      const rest = splitter.end();
      if (rest) this.speak(rest);
      this.feeder.finish();
      // Done only once its speech is fully downloaded: a TTS failure must still count as a failed reply.
      await this.feeder.done;
      this.settle(() => this.hooks.onDone(this.text.trim()));
    } catch (err) {
      this.feeder.finish();
      if (this.aborted) return;
      if (this.ttsError === null && this.spoken.length > 0 && (await this.spokenInFull())) {
        // The model broke off (a stall, a dropped stream): what it finished saying is the reply; the cut sentence is dropped.
        this.settle(() => this.hooks.onDone(this.spoken.join(" ")));
        return;
      }
      if (this.aborted) return;
      const why = this.ttsError ?? (err instanceof Error ? err.message : String(err));
      // Once some words were played, the caller heard a reply: report it rather than a failure.
      if (this.feeder.heard() === "") this.settle(() => this.hooks.onFailed(why));
      else this.settle(() => this.hooks.onDone(this.text.trim()));
    }
  }

  private speak(sentence: string): void {
    this.spoken.push(sentence.trim());
    this.feeder.addText(sentence);
  }

  /** Whether the sentences already given to the voice were all synthesized. */
  private async spokenInFull(): Promise<boolean> {
    try {
      await this.feeder.done;
      return true;
    } catch {
      return false;
    }
  }

  /** What the caller heard of it so far. */
  heard(): string {
    return this.feeder.heard();
  }

  abort(): void {
    if (this.aborted) return;
    this.controller.abort(new DOMException("reply interrupted", "AbortError"));
    this.feeder.close();
  }

  private settle(report: () => void): void {
    if (this.settled) return;
    this.settled = true;
    report();
  }
}
