/**
 * The tools the model may call during an AI SAV call, which of them each state offers, and the
 * validation of their arguments. A bad call is not an exception: it yields an error text sent
 * back as the tool's result, so the model can correct itself on its next turn.
 */
import type { ToolCall, ToolSpec } from "../ai/llm/types.ts";
import type { DialogState, ProblemType } from "./types.ts";

export type SavToolName = "record_customer" | "set_problem" | "mark_solved" | "request_technician" | "end_call";

export type SavToolCall =
  | { name: "record_customer"; customer: string; phone: string }
  | { name: "set_problem"; problemType: ProblemType; description: string }
  | { name: "mark_solved"; solved: boolean }
  | { name: "request_technician"; reason: string }
  | { name: "end_call"; reason: string };

export type ParsedToolCall = { ok: true; call: SavToolCall } | { ok: false; error: string };

const PROBLEM_TYPES: readonly ProblemType[] = ["internet", "mobile", "other"];
const MAX_TEXT = 500;
const MIN_PHONE_DIGITS = 4;
const MAX_PHONE_DIGITS = 15;

const reasonParameter = (what: string): Record<string, unknown> => ({
  type: "object",
  properties: { reason: { type: "string", description: what } },
  required: ["reason"],
  additionalProperties: false,
});

export const SAV_TOOLS: Readonly<Record<SavToolName, ToolSpec>> = {
  record_customer: {
    name: "record_customer",
    description: "Save the caller's name and callback phone number, only after reading the number back and hearing the caller confirm it.",
    parameters: {
      type: "object",
      properties: {
        name: { type: "string", description: "The caller's name as they said it." },
        phone: { type: "string", description: "Callback phone number, digits only (a leading + allowed)." },
        confirmed: { type: "boolean", description: "true once the caller confirmed the number read back to them." },
      },
      required: ["name", "phone", "confirmed"],
      additionalProperties: false,
    },
  },
  set_problem: {
    name: "set_problem",
    description: "Record the kind of problem and a one-sentence description of it.",
    parameters: {
      type: "object",
      properties: {
        type: { type: "string", enum: [...PROBLEM_TYPES], description: "internet (box, wifi), mobile (phone, network) or other." },
        description: { type: "string", description: "What the caller says is wrong, in one sentence." },
      },
      required: ["type", "description"],
      additionalProperties: false,
    },
  },
  mark_solved: {
    name: "mark_solved",
    description: "Record whether the suggested fix solved the problem, as the caller said.",
    parameters: {
      type: "object",
      properties: { solved: { type: "boolean", description: "true if it works now." } },
      required: ["solved"],
      additionalProperties: false,
    },
  },
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

/** Tools ending the model's part of the call: nothing is asked of it after them. */
export const TERMINAL_TOOLS: ReadonlySet<string> = new Set<SavToolName>(["request_technician", "end_call"]);

const STATE_TOOLS: Partial<Record<DialogState, readonly SavToolName[]>> = {
  IDENTIFICATION: ["record_customer", "set_problem"],
  DIAGNOSTIC: ["set_problem", "record_customer"],
  SOLUTION: ["mark_solved", "set_problem", "record_customer"],
  VERIFICATION: ["mark_solved", "record_customer"],
};

/** The tools offered in `state`; request_technician and end_call are always among them. */
export function toolsFor(state: DialogState): ToolSpec[] {
  const names = [...(STATE_TOOLS[state] ?? []), "request_technician", "end_call"] as const;
  return names.map((name) => SAV_TOOLS[name]);
}

export function parseToolCall(call: ToolCall): ParsedToolCall {
  let args: unknown;
  try {
    args = JSON.parse(call.arguments === "" ? "{}" : call.arguments);
  } catch {
    return fail(`arguments of ${call.name} are not valid JSON: ${clip(call.arguments)}; send a JSON object`);
  }
  if (typeof args !== "object" || args === null || Array.isArray(args)) {
    return fail(`arguments of ${call.name} must be a JSON object, got ${clip(call.arguments)}`);
  }
  const fields = args as Record<string, unknown>;
  switch (call.name) {
    case "record_customer":
      return recordCustomer(fields);
    case "set_problem": {
      const type = fields.type;
      if (typeof type !== "string" || !(PROBLEM_TYPES as readonly string[]).includes(type)) {
        return fail(`set_problem.type is ${JSON.stringify(type)}: it must be one of ${PROBLEM_TYPES.join(", ")}`);
      }
      const description = text(fields, "set_problem", "description");
      if (typeof description !== "string") return description;
      return { ok: true, call: { name: "set_problem", problemType: type as ProblemType, description } };
    }
    case "mark_solved":
      if (typeof fields.solved !== "boolean") {
        return fail(`mark_solved.solved is ${JSON.stringify(fields.solved)}: it must be true or false`);
      }
      return { ok: true, call: { name: "mark_solved", solved: fields.solved } };
    case "request_technician":
    case "end_call": {
      const reason = text(fields, call.name, "reason");
      if (typeof reason !== "string") return reason;
      return { ok: true, call: { name: call.name, reason } };
    }
    default:
      return fail(`there is no tool ${JSON.stringify(call.name)}: use one of ${Object.keys(SAV_TOOLS).join(", ")}`);
  }
}

function recordCustomer(fields: Record<string, unknown>): ParsedToolCall {
  const customer = text(fields, "record_customer", "name");
  if (typeof customer !== "string") return customer;
  if (typeof fields.phone !== "string") {
    return fail(`record_customer.phone is ${JSON.stringify(fields.phone)}: it must be the phone number as a string`);
  }
  const phone = normalizePhone(fields.phone);
  if (phone === null) {
    return fail(
      `record_customer.phone ${JSON.stringify(fields.phone)} is not a phone number: ${MIN_PHONE_DIGITS} to ${MAX_PHONE_DIGITS} digits, optionally a leading +`,
    );
  }
  if (fields.confirmed !== true) {
    return fail("record_customer.confirmed is not true: read the number back to the caller, wait for their yes, then call again with confirmed: true");
  }
  return { ok: true, call: { name: "record_customer", customer, phone } };
}

/** Digits with an optional leading +; spaces, dots, dashes and brackets dropped. */
export function normalizePhone(raw: string): string | null {
  const trimmed = raw.trim();
  if (!/^\+?[0-9 ().-]+$/.test(trimmed)) return null;
  const digits = trimmed.replace(/[^0-9]/g, "");
  if (digits.length < MIN_PHONE_DIGITS || digits.length > MAX_PHONE_DIGITS) return null;
  return (trimmed.startsWith("+") ? "+" : "") + digits;
}

function text(fields: Record<string, unknown>, tool: string, field: string): string | ParsedToolCall {
  const value = fields[field];
  if (typeof value !== "string" || value.trim() === "") {
    return fail(`${tool}.${field} is ${JSON.stringify(value)}: it must be a non-empty string`);
  }
  return value.trim().slice(0, MAX_TEXT);
}

function fail(error: string): ParsedToolCall {
  return { ok: false, error };
}

function clip(raw: string): string {
  return JSON.stringify(raw.length > 80 ? `${raw.slice(0, 80)}…` : raw);
}
