/**
 * A deterministic stand-in for the language model in an AI SAV call (French), for the fake chat
 * server's `brain` in e2e tests and `voicebot bench --fake-providers`. Stateless: each answer is
 * worked out from the request alone (the last message, earlier caller messages, the tool calls
 * already in the history and the tools offered). A tool the request does not offer is left out.
 * The fake chat's realistic mode turns "text + tool calls" into the tool calls alone, the text coming
 * in the next completion, as real models do.
 *
 * A request forcing record_facts (the scribe) gets it with what the caller's messages said: name,
 * phone (phone_confirmed once a "oui" followed), problem_type and description, solved.
 *
 * Otherwise the script, matched on the last caller message (lower case, accents ignored), first rule wins:
 * - the last message is a tool result: "Pardon, pouvez-vous répéter ?" if a result has ok:false,
 *   "Merci, c'est bien noté." after record_customer, else nothing (empty reply);
 * - "toujours pas", "pas mieux", or "ne marche/fonctionne pas" once a problem is known
 *   → mark_solved {solved:false} + request_technician, with "Je fais appel à un technicien.";
 * - "ça marche", "ça fonctionne", "c'est bon" → mark_solved {solved:true} + end_call, with
 *   "Parfait, je suis ravi que cela fonctionne.";
 * - "technicien", "conseiller" → request_technician;
 * - "je m'appelle …", "mon nom est …", "numéro" → reads the number back: "Merci Jean Dupont.
 *   Je relis votre numéro : 06 12 34 56 78. Est-ce bien cela ?";
 * - "oui", "c'est ça", "exact", "correct" after such a message and before any record_customer
 *   → "Merci, c'est bien noté." and the next question, + record_customer {name, phone, confirmed:true};
 * - "box", "internet", "wifi", "connexion" → set_problem internet + the box fix, then asks whether
 *   it works; "mobile", "portable", "réseau", "téléphone" → set_problem mobile + the restart fix;
 * - "au revoir", "c'est tout", "rien d'autre" → end_call with "Merci, au revoir.";
 * - anything else → one short question (the problem if none is known, else "does it work?").
 */

import type { FakeChatBrainRequest, FakeChatMessage, FakeChatReply } from "./chat.ts";

type ToolCallReply = { name: string; arguments: object };

const normalize = (text: string): string =>
  text.normalize("NFD").replace(/\p{M}/gu, "").replace(/[’`]/g, "'").toLowerCase();

const IDENTITY = /je m'appelle|mon nom est|numero/;
const YES = /^(oui|c'est ca|exact|correct)/;
/** The scribe's forced tool (src/dialog/sav-ai-scribe.ts). */
const SCRIBE_TOOL = "record_facts";
const NAME = /(?:je m'appelle|mon nom est)\s+([^,.;]+)/i;

export function savBrain(request: FakeChatBrainRequest): FakeChatReply {
  if (request.toolChoice === SCRIBE_TOOL) return { toolCalls: [{ name: SCRIBE_TOOL, arguments: scribeFacts(request.messages) }] };
  const last = request.messages.at(-1);
  if (last?.role === "tool") return afterTools(request.messages);
  const userTexts = request.messages.filter((m) => m.role === "user").map((m) => m.content ?? "");
  const said = normalize(userTexts.at(-1) ?? "");
  const called = toolNamesCalled(request.messages);
  const offer = (calls: ToolCallReply[]): ToolCallReply[] =>
    calls.filter((c) => request.tools.includes(c.name));
  const problemKnown = called.has("set_problem") || userTexts.slice(0, -1).some((t) => problemOf(normalize(t)) !== null);

  if (/toujours pas|pas mieux/.test(said) || (problemKnown && /ne (marche|fonctionne) pas/.test(said))) {
    return {
      text: "Je fais appel à un technicien.",
      toolCalls: offer([
        { name: "mark_solved", arguments: { solved: false } },
        { name: "request_technician", arguments: { reason: "la solution proposée n'a pas fonctionné" } },
      ]),
    };
  }
  if (/ca (re)?marche|ca fonctionne|c'est bon/.test(said)) {
    return {
      text: "Parfait, je suis ravi que cela fonctionne.",
      toolCalls: offer([
        { name: "mark_solved", arguments: { solved: true } },
        { name: "end_call", arguments: { reason: "problème résolu" } },
      ]),
    };
  }
  if (/technicien|conseiller/.test(said)) {
    return { text: "Très bien.", toolCalls: offer([{ name: "request_technician", arguments: { reason: "le client demande un technicien" } }]) };
  }
  if (IDENTITY.test(said)) {
    const { name, phone } = identity(userTexts.at(-1) ?? "");
    return { text: `Merci ${name}. Je relis votre numéro : ${spaced(phone)}. Est-ce bien cela ?` };
  }
  if (YES.test(said.trim()) && !called.has("record_customer")) {
    const earlier = userTexts.findLast((t) => IDENTITY.test(normalize(t)));
    if (earlier !== undefined) {
      const { name, phone } = identity(earlier);
      const next = problemKnown ? "Est-ce que cela fonctionne maintenant ?" : "Quel est votre problème ?";
      return { text: `Merci, c'est bien noté. ${next}`, toolCalls: offer([{ name: "record_customer", arguments: { name, phone, confirmed: true } }]) };
    }
  }
  const problem = problemOf(said);
  if (problem !== null) return { text: problem.fix, toolCalls: offer([{ name: "set_problem", arguments: { type: problem.type, description: problem.description } }]) };
  if (/au revoir|c'est tout|rien d'autre/.test(said)) {
    return { text: "Merci, au revoir.", toolCalls: offer([{ name: "end_call", arguments: { reason: "le client n'a plus besoin de rien" } }]) };
  }
  return { text: problemKnown ? "Est-ce que cela fonctionne maintenant ?" : "Pouvez-vous me décrire votre problème ?" };
}

/** The scribe's record_facts arguments: everything the caller's messages have said so far. */
function scribeFacts(messages: readonly FakeChatMessage[]): Record<string, unknown> {
  const userTexts = messages.filter((m) => m.role === "user").map((m) => m.content ?? "");
  const facts: Record<string, unknown> = {};
  const at = userTexts.findLastIndex((t) => IDENTITY.test(normalize(t)));
  if (at >= 0) {
    const { name, phone } = identity(userTexts[at] ?? "");
    facts.name = name;
    if (userTexts.slice(at + 1).some((t) => YES.test(normalize(t).trim()))) Object.assign(facts, { phone, phone_confirmed: true });
  }
  const problem = userTexts.map((t) => problemOf(normalize(t))).find((p) => p !== null);
  if (problem) Object.assign(facts, { problem_type: problem.type, description: problem.description });
  const lastSaid = normalize(userTexts.at(-1) ?? "");
  if (problem && /ca (re)?marche|ca fonctionne|c'est bon/.test(lastSaid)) facts.solved = true;
  if (problem && /toujours pas|pas mieux|ne (marche|fonctionne) pas/.test(lastSaid) && !problemOf(lastSaid)) facts.solved = false;
  return facts;
}

function problemOf(said: string): { type: string; description: string; fix: string } | null {
  if (/box|internet|wifi|connexion/.test(said)) {
    return {
      type: "internet", description: "la box internet ne fonctionne plus",
      fix: "Débranchez votre box pendant trente secondes, puis rebranchez-la et attendez que les voyants soient fixes. Dites-moi si cela fonctionne.",
    };
  }
  if (/mobile|portable|reseau|telephone/.test(said)) {
    return { type: "mobile", description: "le téléphone mobile ne fonctionne plus", fix: "Éteignez votre téléphone, puis rallumez-le. Dites-moi si cela fonctionne." };
  }
  return null;
}

function afterTools(messages: readonly FakeChatMessage[]): FakeChatReply {
  const results: string[] = [];
  for (let i = messages.length - 1; i >= 0 && messages[i]?.role === "tool"; i--) results.push(messages[i]?.content ?? "");
  if (results.some((r) => r.includes('"ok":false'))) return { text: "Pardon, pouvez-vous répéter ?" };
  const lastAssistant = messages.findLast((m) => m.role === "assistant");
  const names = (lastAssistant?.tool_calls ?? []).map((c) => c.function.name);
  return names.includes("record_customer") ? { text: "Merci, c'est bien noté." } : {};
}

function toolNamesCalled(messages: readonly FakeChatMessage[]): Set<string> {
  const names = new Set<string>();
  for (const m of messages) for (const call of m.tool_calls ?? []) names.add(call.function.name);
  return names;
}

function identity(text: string): { name: string; phone: string } {
  const name = NAME.exec(text.replace(/[’`]/g, "'"))?.[1]?.trim() ?? "";
  const phone = (/\+?\d[\d .-]{2,}\d/.exec(text)?.[0] ?? "").replace(/[^\d+]/g, "");
  return { name: name === "" ? "client" : name, phone };
}

/** "0612345678" → "06 12 34 56 78": read two digits at a time, as French numbers are. */
function spaced(phone: string): string {
  return phone.replace(/(\d{2})(?=\d)/g, "$1 ");
}
