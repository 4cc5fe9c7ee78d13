/**
 * The call layer of an AI SAV dialog, played by hand in unit tests: it answers openTicket, reports
 * prompts as played, runs the fake brain for each think and each scribe, and keeps the actions.
 */
import type { ChatMessage, ToolCall } from "../../src/ai/llm/types.ts";
import { parseTechHours } from "../../src/dialog/business-hours.ts";
import { createAiSavDialog, type AiSavDialogOptions } from "../../src/dialog/sav-ai.ts";
import type { DialogAction } from "../../src/dialog/types.ts";
import { DialogDriver, partNames } from "./dialog-driver.ts";
import type { FakeChatMessage } from "../fakes/chat.ts";
import { savBrain } from "../fakes/sav-brain.ts";

export const TICKET = 42;
export const HOURS = parseTechHours("mon-fri 09:00-18:00; sat 09:00-12:00");
// Europe/Paris around the switch to summer time (Sunday 29 March 2026, 02:00 -> 03:00).
export const MONDAY_10H = Date.UTC(2026, 2, 30, 8, 0); // 10:00 CEST
export const SATURDAY_13H = Date.UTC(2026, 2, 28, 12, 0); // 13:00 CET
export const SUNDAY_03H30 = Date.UTC(2026, 2, 29, 1, 30); // 03:30 CEST, just after the switch

export type Say = Extract<DialogAction, { type: "say" }>;
export type Think = Extract<DialogAction, { type: "think" }>;
export type Scribe = Extract<DialogAction, { type: "scribe" }>;

export { partNames };
export const says = (actions: readonly DialogAction[]): Say[] => actions.filter((a): a is Say => a.type === "say");
export const spoken = (actions: readonly DialogAction[]): string[][] => says(actions).map((s) => partNames(s.parts));
export const thinks = (actions: readonly DialogAction[]): Think[] => actions.filter((a): a is Think => a.type === "think");
export const records = (actions: readonly DialogAction[], kind: string): string[] =>
  actions.flatMap((a) => (a.type === "record" && a.kind === kind ? [a.detail] : []));

/** Vendor JSON shape, as the fake chat server hands it to its brain. */
function toVendor(messages: readonly ChatMessage[]): FakeChatMessage[] {
  return messages.map((m) => {
    if (m.role === "tool") return { role: "tool", tool_call_id: m.toolCallId, content: m.content };
    if (m.role !== "assistant" || !m.toolCalls) return { role: m.role, content: m.content };
    const tool_calls = m.toolCalls.map((c) => ({ id: c.id, type: "function", function: { name: c.name, arguments: c.arguments } }));
    return { role: "assistant", content: m.content, tool_calls };
  });
}

/** Plays the call layer: answers openTicket, reports prompts as played, and runs the model. */
export class AiCall extends DialogDriver {
  at: number;
  #callIds = 0;

  constructor(at = MONDAY_10H, options: Partial<AiSavDialogOptions> = {}) {
    super(createAiSavDialog({ language: "fr-FR", companyName: "Acme", techHours: HOURS, timezone: "Europe/Paris", ...options }), TICKET);
    this.at = at;
  }

  call(name: string, args: object | string): ToolCall {
    return { id: `call_${++this.#callIds}`, name, arguments: typeof args === "string" ? args : JSON.stringify(args) };
  }

  /**
   * The caller speaks; the fake brain answers every think that follows (tool calls first), and the
   * turn's scribe before the reply's tool calls (as when the scribe is the faster), after them (a
   * decision then waits for it), or not at all.
   */
  talk(text: string, scribe: "after" | "before" | "fails" = "before"): DialogAction[] {
    const out = this.send({ type: "callerSaid", text, at: this.at });
    const scribes = out.filter((a): a is Scribe => a.type === "scribe");
    if (scribe === "before") for (const s of scribes) out.push(...this.answerScribe(s));
    let pending = thinks(out);
    while (pending.length > 0) {
      const think = pending[0] as Think;
      const reply = savBrain({ model: "fake", messages: toVendor(think.messages), tools: think.tools.map((t) => t.name) });
      const step: DialogAction[] = [];
      const calls: ToolCall[] = [];
      for (const c of reply.toolCalls ?? []) {
        const call = this.call(c.name, c.arguments);
        calls.push(call);
        step.push(...this.send({ type: "toolCall", replyId: think.replyId, call, at: this.at }));
      }
      step.push(...this.send({ type: "replyDone", replyId: think.replyId, text: reply.text ?? "" }));
      out.push(...step);
      pending = thinks(step);
    }
    if (scribe === "after") for (const s of scribes) out.push(...this.answerScribe(s));
    if (scribe === "fails") for (const s of scribes) out.push(...this.send({ type: "scribeFailed", scribeId: s.scribeId, error: "HTTP 503" }));
    return out;
  }

  /** The fake brain writes the facts, as the scribe's forced tool call. */
  answerScribe(scribe: Scribe): DialogAction[] {
    const facts = savBrain({ model: "fake", messages: toVendor(scribe.messages), tools: [scribe.tool.name], toolChoice: scribe.tool.name }).toolCalls?.[0];
    const call = facts === undefined ? null : this.call(facts.name, facts.arguments);
    return this.send({ type: "scribeDone", scribeId: scribe.scribeId, call });
  }
}
