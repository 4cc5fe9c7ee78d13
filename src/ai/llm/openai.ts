/** OpenAI chat completions through the official `openai` SDK, streamed, with tool calls. */
import OpenAI from "openai";
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

/** Passed explicitly so an OPENAI_BASE_URL in the environment cannot bypass the loaded config. */
const OPENAI_DEFAULT_BASE_URL = "https://api.openai.com/v1";

export function createOpenAiLlm(options: ChatProviderOptions): LanguageModel {
  checkProviderOptions("OpenAI", options);
  const { model, timeoutMs, log } = options;
  // Retries are the resilient wrapper's job: an SDK retry would hide a slow provider from the TTFT switch.
  const client = new OpenAI({ apiKey: options.apiKey, baseURL: options.baseUrl ?? OPENAI_DEFAULT_BASE_URL, maxRetries: 0, timeout: timeoutMs });
  const id = `openai:${model}`;
  return {
    id,
    stream: (request: ChatRequest) =>
      streamChat({
        provider: id,
        timeoutMs,
        log,
        request,
        errors: OpenAI,
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
