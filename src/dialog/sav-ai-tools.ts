/**
 * The tools of the model that talks during an AI SAV call: only the actions that change the call
 * (hand it to a technician, end it). The facts of the ticket are written by the scribe
 * (sav-ai-scribe.ts), so the talking model has no data to record and answers in words at once.
 * A bad call is not an exception: it yields an error text sent back as the tool's result, so the
 * model can correct itself on its next go.
 */
import type { ToolCall, ToolSpec } from "../ai/llm/types.ts";

export type SavToolName = "request_technician" | "end_call";

export type SavToolCall = { name: SavToolName; reason: string };

export type ParsedToolCall = { ok: true; call: SavToolCall } | { ok: false; error: string };

const MAX_TEXT = 500;

const reasonParameter = (what: string): Record<string, unknown> => ({
  type: "object",
  properties: { reason: { type: "string", description: what } },
  required: ["reason"],
  additionalProperties: false,
});

export const SAV_TOOLS: Readonly<Record<SavToolName, ToolSpec>> = {
  request_technician: {
    name: "request_technician",
    description: "Hand the case to a technician (transfer now, or a callback outside opening hours). Ends your part of the call.",
    parameters: reasonParameter("Why a technician is needed, in one sentence."),
  },
  end_call: {
    name: "end_call",
    description: "End the call after saying goodbye, when the caller needs nothing more.",
    parameters: reasonParameter("Why the call ends, in a few words."),
  },
};

/** What the talking model is offered, in every state of the conversation. */
export const TALKER_TOOLS: readonly ToolSpec[] = [SAV_TOOLS.request_technician, SAV_TOOLS.end_call];

export function parseToolCall(call: ToolCall): ParsedToolCall {
  if (call.name !== "request_technician" && call.name !== "end_call") {
    return fail(`there is no tool ${JSON.stringify(call.name)}: use one of ${Object.keys(SAV_TOOLS).join(", ")}; the ticket's facts are recorded for you`);
  }
  let args: unknown;
  try {
    args = JSON.parse(call.arguments === "" ? "{}" : call.arguments);
  } catch {
    return fail(`arguments of ${call.name} are not valid JSON: ${clip(call.arguments)}; send a JSON object`);
  }
  if (typeof args !== "object" || args === null || Array.isArray(args)) {
    return fail(`arguments of ${call.name} must be a JSON object, got ${clip(call.arguments)}`);
  }
  const reason = (args as Record<string, unknown>).reason;
  if (typeof reason !== "string" || reason.trim() === "") {
    return fail(`${call.name}.reason is ${JSON.stringify(reason)}: it must be a non-empty string`);
  }
  return { ok: true, call: { name: call.name, reason: reason.trim().slice(0, MAX_TEXT) } };
}

function fail(error: string): ParsedToolCall {
  return { ok: false, error };
}

function clip(raw: string): string {
  return JSON.stringify(raw.length > 80 ? `${raw.slice(0, 80)}…` : raw);
}
