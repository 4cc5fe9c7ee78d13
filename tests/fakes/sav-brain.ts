/**
 * A deterministic stand-in for the language model in an AI SAV call (French), for the fake chat
 * server's `brain` in e2e tests and `voicebot bench --fake-providers`. Stateless: each answer is
 * worked out from the request alone (the last message, earlier caller messages, the tool calls
 * already in the history and the tools offered). A tool the request does not offer is left out.
 *
 * The script, matched on the last caller message (lower case, accents ignored), first rule wins:
 * - the last message is a tool result: "Pardon, pouvez-vous répéter ?" if a result has ok:false,
 *   "Merci, c'est bien noté." after record_customer, else nothing (empty reply);
 * - "toujours pas", "pas mieux", or "ne marche/fonctionne pas" once a problem is recorded
 *   → mark_solved {solved:false} + request_technician, with "Je fais appel à un technicien.";
 * - "ça marche", "ça fonctionne", "c'est bon" → mark_solved {solved:true} + end_call, with
 *   "Parfait, je suis ravi que cela fonctionne.";
 * - "technicien", "conseiller" → request_technician;
 * - "je m'appelle …", "mon nom est …", "numéro" → reads the number back: "Merci Jean Dupont.
 *   Je relis votre numéro : 06 12 34 56 78. Est-ce bien cela ?";
 * - "oui", "c'est ça", "exact", "correct" after such a message and before any record_customer
 *   → record_customer {name, phone, confirmed:true} taken from that earlier message;
 * - "box", "internet", "wifi", "connexion" → set_problem internet + the box fix, then asks whether
 *   it works; "mobile", "portable", "réseau", "téléphone" → set_problem mobile + the restart fix;
 * - "au revoir", "c'est tout", "rien d'autre" → end_call with "Merci, au revoir.";
 * - anything else → one short question (the problem if none is recorded, else "does it work?").
 */

import type { FakeChatBrainRequest, FakeChatMessage, FakeChatReply } from "./chat.ts";

type ToolCallReply = { name: string; arguments: object };

const normalize = (text: string): string =>
  text.normalize("NFD").replace(/\p{M}/gu, "").replace(/[’`]/g, "'").toLowerCase();

const IDENTITY = /je m'appelle|mon nom est|numero/;
const NAME = /(?:je m'appelle|mon nom est)\s+([^,.;]+)/i;

export function savBrain(request: FakeChatBrainRequest): FakeChatReply {
  const last = request.messages.at(-1);
  if (last?.role === "tool") return afterTools(request.messages);
  const userTexts = request.messages.filter((m) => m.role === "user").map((m) => m.content ?? "");
  const said = normalize(userTexts.at(-1) ?? "");
  const called = toolNamesCalled(request.messages);
  const offer = (calls: ToolCallReply[]): ToolCallReply[] =>
    calls.filter((c) => request.tools.includes(c.name));
  const problemKnown = called.has("set_problem");

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
  if (/^(oui|c'est ca|exact|correct)/.test(said.trim()) && !called.has("record_customer")) {
    const earlier = userTexts.findLast((t) => IDENTITY.test(normalize(t)));
    if (earlier !== undefined) {
      const { name, phone } = identity(earlier);
      return { toolCalls: offer([{ name: "record_customer", arguments: { name, phone, confirmed: true } }]) };
    }
  }
  if (/box|internet|wifi|connexion/.test(said)) {
    return {
      text: "Débranchez votre box pendant trente secondes, puis rebranchez-la et attendez que les voyants soient fixes. Dites-moi si cela fonctionne.",
      toolCalls: offer([{ name: "set_problem", arguments: { type: "internet", description: "la box internet ne fonctionne plus" } }]),
    };
  }
  if (/mobile|portable|reseau|telephone/.test(said)) {
    return {
      text: "Éteignez votre téléphone, puis rallumez-le. Dites-moi si cela fonctionne.",
      toolCalls: offer([{ name: "set_problem", arguments: { type: "mobile", description: "le téléphone mobile ne fonctionne plus" } }]),
    };
  }
  if (/au revoir|c'est tout|rien d'autre/.test(said)) {
    return { text: "Merci, au revoir.", toolCalls: offer([{ name: "end_call", arguments: { reason: "le client n'a plus besoin de rien" } }]) };
  }
  return { text: problemKnown ? "Est-ce que cela fonctionne maintenant ?" : "Pouvez-vous me décrire votre problème ?" };
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
