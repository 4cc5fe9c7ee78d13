/** Groq chat completions through the official `groq-sdk`, streamed, with tool calls. */
import Groq from "groq-sdk";
import { chatLanguageModel, checkProviderOptions, type ChatProviderOptions } from "./chat-stream.ts";
import type { LanguageModel } from "./types.ts";

/** Passed explicitly so a GROQ_BASE_URL in the environment cannot bypass the loaded config (the SDK appends /openai/v1). */
const GROQ_DEFAULT_BASE_URL = "https://api.groq.com";

export function createGroqLlm(options: ChatProviderOptions): LanguageModel {
  checkProviderOptions("Groq", options);
  // Retries are the resilient wrapper's job: an SDK retry would hide a slow provider from the TTFT switch.
  const client = new Groq({ apiKey: options.apiKey, baseURL: options.baseUrl ?? GROQ_DEFAULT_BASE_URL, maxRetries: 0, timeout: options.timeoutMs });
  return chatLanguageModel({ prefix: "groq", errors: Groq, create: (body, o) => client.chat.completions.create(body, o) }, options);
}
