/**
 * The scribe: a second completion, run beside each reply, that reads the conversation and writes
 * down what the ticket needs (name, callback number, problem, whether the fix worked) through one
 * forced tool call. The model that talks gets no such tools, so it answers in words at once: the
 * caller never waits for a tool round trip, and the ticket is as rich as before.
 */
import type { ChatMessage, ToolCall, ToolSpec } from "../ai/llm/types.ts";
import type { PromptFacts } from "./sav-ai-prompts.ts";
import type { ProblemType } from "./types.ts";

export const SCRIBE_TOOL_NAME = "record_facts";

/** What one scribe call found; a field absent is not known (yet). */
export interface ScribeFacts {
  customer?: string;
  /** Normalized (digits, optional leading +), and only once the caller confirmed it read back. */
  phone?: string;
  problemType?: ProblemType;
  description?: string;
  solved?: boolean;
}

export type ParsedScribeCall = { ok: true; facts: ScribeFacts } | { ok: false; error: string };

const PROBLEM_TYPES: readonly ProblemType[] = ["internet", "mobile", "other"];
const MAX_TEXT = 500;
const MIN_PHONE_DIGITS = 4;
const MAX_PHONE_DIGITS = 15;

export const SCRIBE_TOOL: ToolSpec = {
  name: SCRIBE_TOOL_NAME,
  description: "Record every fact of the after-sales call known so far. Leave out a field nobody has said yet.",
  parameters: {
    type: "object",
    properties: {
      name: { type: "string", description: "The caller's name as they said it." },
      phone: { type: "string", description: "The callback phone number, digits only (a leading + allowed)." },
      phone_confirmed: { type: "boolean", description: "true once the assistant read the number back and the caller said it is right." },
      problem_type: { type: "string", enum: [...PROBLEM_TYPES], description: "internet (box, wifi), mobile (phone, mobile network) or other." },
      description: { type: "string", description: "What is wrong, in one short sentence, in the caller's language." },
      solved: { type: "boolean", description: "After the assistant suggested a fix: true if the caller says it works now, false if it still does not." },
    },
    additionalProperties: false,
  },
};

const INSTRUCTIONS = [
  "You are the scribe of a phone call between a customer and an after-sales assistant. You never talk to anyone.",
  `Read the conversation and call ${SCRIBE_TOOL_NAME} once with every fact known so far: the facts already recorded (below) unless the caller corrected them, plus what the conversation adds.`,
  "Record the phone number only with phone_confirmed true, once the caller confirmed it after the assistant read it back; otherwise leave phone out.",
  "Set solved only when the caller said whether the suggested fix worked.",
].join("\n");

/** The scribe's request: its instructions with the facts already recorded, then the conversation's words. */
export function scribeMessages(facts: PromptFacts, transcript: readonly ChatMessage[]): ChatMessage[] {
  const known: Record<string, unknown> = {};
  if (facts.customer !== null) known.name = facts.customer;
  if (facts.phone !== null) Object.assign(known, { phone: facts.phone, phone_confirmed: true });
  if (facts.problemType !== null) known.problem_type = facts.problemType;
  if (facts.description !== null) known.description = facts.description;
  if (facts.solved !== null) known.solved = facts.solved;
  const recorded = Object.keys(known).length === 0 ? "nothing yet" : JSON.stringify(known);
  return [{ role: "system", content: `${INSTRUCTIONS}\n\nAlready recorded: ${recorded}` }, ...transcript];
}

/**
 * The facts of a record_facts call. A field that is present but wrong is an error (the facts stay
 * as they were: a scribe that writes nonsense must not spoil the ticket); an unconfirmed phone is
 * simply left out.
 */
export function parseScribeCall(call: ToolCall): ParsedScribeCall {
  if (call.name !== SCRIBE_TOOL_NAME) return fail(`the scribe called ${JSON.stringify(call.name)}, not ${SCRIBE_TOOL_NAME}`);
  let args: unknown;
  try {
    args = JSON.parse(call.arguments === "" ? "{}" : call.arguments);
  } catch {
    return fail(`arguments of ${SCRIBE_TOOL_NAME} are not valid JSON: ${clip(call.arguments)}`);
  }
  if (typeof args !== "object" || args === null || Array.isArray(args)) return fail(`arguments of ${SCRIBE_TOOL_NAME} must be a JSON object, got ${clip(call.arguments)}`);
  const fields = args as Record<string, unknown>;
  const facts: ScribeFacts = {};
  const name = optionalText(fields, "name");
  if (typeof name === "object") return name;
  if (name !== undefined) facts.customer = name;
  if (fields.phone !== undefined && fields.phone !== null && fields.phone_confirmed === true) {
    const phone = typeof fields.phone === "string" ? normalizePhone(fields.phone) : null;
    if (phone === null) {
      return fail(`${SCRIBE_TOOL_NAME}.phone ${JSON.stringify(fields.phone)} is not a phone number: ${MIN_PHONE_DIGITS} to ${MAX_PHONE_DIGITS} digits, optionally a leading +`);
    }
    facts.phone = phone;
  }
  const type = fields.problem_type;
  if (type !== undefined && type !== null) {
    if (typeof type !== "string" || !(PROBLEM_TYPES as readonly string[]).includes(type)) {
      return fail(`${SCRIBE_TOOL_NAME}.problem_type is ${JSON.stringify(type)}: it must be one of ${PROBLEM_TYPES.join(", ")}`);
    }
    facts.problemType = type as ProblemType;
  }
  const description = optionalText(fields, "description");
  if (typeof description === "object") return description;
  if (description !== undefined) facts.description = description;
  if (fields.solved !== undefined && fields.solved !== null) {
    if (typeof fields.solved !== "boolean") return fail(`${SCRIBE_TOOL_NAME}.solved is ${JSON.stringify(fields.solved)}: it must be true or false`);
    facts.solved = fields.solved;
  }
  return { ok: true, facts };
}

/** Digits with an optional leading +; spaces, dots, dashes and brackets dropped. */
export function normalizePhone(raw: string): string | null {
  const trimmed = raw.trim();
  if (!/^\+?[0-9 ().-]+$/.test(trimmed)) return null;
  const digits = trimmed.replace(/[^0-9]/g, "");
  if (digits.length < MIN_PHONE_DIGITS || digits.length > MAX_PHONE_DIGITS) return null;
  return (trimmed.startsWith("+") ? "+" : "") + digits;
}

function optionalText(fields: Record<string, unknown>, field: string): string | undefined | { ok: false; error: string } {
  const value = fields[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") return fail(`${SCRIBE_TOOL_NAME}.${field} is ${JSON.stringify(value)}: it must be a string`);
  const trimmed = value.trim();
  return trimmed === "" ? undefined : trimmed.slice(0, MAX_TEXT);
}

function fail(error: string): { ok: false; error: string } {
  return { ok: false, error };
}

function clip(raw: string): string {
  return JSON.stringify(raw.length > 80 ? `${raw.slice(0, 80)}…` : raw);
}
