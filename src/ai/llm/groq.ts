/** Groq chat completions through the official `groq-sdk`, streamed, with tool calls. */
import Groq from "groq-sdk";
import {
  checkProviderOptions,
  MAX_REPLY_TOKENS,
  REPLY_TEMPERATURE,
  streamChat,
  toVendorMessages,
  toVendorTools,
  type ChatProviderOptions,
} from "./chat-stream.ts";
import type { ChatRequest, LanguageModel } from "./types.ts";

/** Passed explicitly so a GROQ_BASE_URL in the environment cannot bypass the loaded config (the SDK appends /openai/v1). */
const GROQ_DEFAULT_BASE_URL = "https://api.groq.com";

export function createGroqLlm(options: ChatProviderOptions): LanguageModel {
  checkProviderOptions("Groq", options);
  const { model, timeoutMs, log } = options;
  // Retries are the resilient wrapper's job: an SDK retry would hide a slow provider from the TTFT switch.
  const client = new Groq({ apiKey: options.apiKey, baseURL: options.baseUrl ?? GROQ_DEFAULT_BASE_URL, maxRetries: 0, timeout: timeoutMs });
  const id = `groq:${model}`;
  return {
    id,
    stream: (request: ChatRequest) =>
      streamChat({
        provider: id,
        timeoutMs,
        log,
        request,
        errors: Groq,
        open: (signal) =>
          client.chat.completions.create(
            {
              model,
              messages: toVendorMessages(request.messages),
              ...(request.tools.length > 0 ? { tools: toVendorTools(request.tools) } : {}),
              stream: true,
              temperature: REPLY_TEMPERATURE,
              max_completion_tokens: MAX_REPLY_TOKENS,
            },
            { signal, timeout: timeoutMs },
          ),
      }),
  };
}
