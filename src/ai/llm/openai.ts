/** OpenAI chat completions through the official `openai` SDK, streamed, with tool calls. */
import OpenAI from "openai";
import { chatLanguageModel, checkProviderOptions, type ChatProviderOptions } from "./chat-stream.ts";
import type { LanguageModel } from "./types.ts";

/** Passed explicitly so an OPENAI_BASE_URL in the environment cannot bypass the loaded config. */
const OPENAI_DEFAULT_BASE_URL = "https://api.openai.com/v1";

export function createOpenAiLlm(options: ChatProviderOptions): LanguageModel {
  checkProviderOptions("OpenAI", options);
  // Retries are the resilient wrapper's job: an SDK retry would hide a slow provider from the TTFT switch.
  const client = new OpenAI({ apiKey: options.apiKey, baseURL: options.baseUrl ?? OPENAI_DEFAULT_BASE_URL, maxRetries: 0, timeout: options.timeoutMs });
  return chatLanguageModel({ prefix: "openai", errors: OpenAI, create: (body, o) => client.chat.completions.create(body, o) }, options);
}
