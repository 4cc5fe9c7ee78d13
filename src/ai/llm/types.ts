import { ProviderError } from "../provider-error.ts";

/** Messages and tools in, streamed text and tool calls out. One implementation per provider. */
export interface ToolCall {
  /** The provider's id for this call, echoed back in the tool message that answers it. */
  id: string;
  name: string;
  /** The arguments as the model wrote them: JSON text, not yet validated. */
  arguments: string;
}

export type ChatMessage =
  | { role: "system"; content: string }
  | { role: "user"; content: string }
  | { role: "assistant"; content: string; toolCalls?: readonly ToolCall[] }
  | { role: "tool"; toolCallId: string; content: string };

export interface ToolSpec {
  name: string;
  description: string;
  /** JSON Schema of the arguments object. */
  parameters: Readonly<Record<string, unknown>>;
}

export interface ChatRequest {
  messages: readonly ChatMessage[];
  tools: readonly ToolSpec[];
  /** The name of one of `tools` the model must call (and nothing else); absent: the model chooses. */
  toolChoice?: string;
  signal?: AbortSignal;
}

export type ChatChunk =
  /** Some more words of the reply, as they come. */
  | { type: "text"; text: string }
  /** One complete tool call (its streamed pieces joined). */
  | { type: "toolCall"; call: ToolCall };

export interface LanguageModel {
  /** e.g. "groq:llama-3.3-70b-versatile". */
  readonly id: string;
  /**
   * Streams one reply. Throws LlmError on a provider failure (status, timeout, broken stream),
   * and the abort reason when `signal` aborts.
   */
  stream(request: ChatRequest): AsyncIterable<ChatChunk>;
}

/** A chat provider's failure (status, timeout, broken stream), as the caller of `stream` sees it. */
export class LlmError extends ProviderError {
  override name = "LlmError";
}
