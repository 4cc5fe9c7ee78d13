/**
 * What the model is told: the phone-call rules, the goal of the current state, and the facts
 * already recorded (so they survive the trimming of old history). fr-FR is the reference;
 * en-US and pt-BR say the same more briefly.
 */
import type { DialogState, ProblemType } from "./types.ts";

export interface PromptFacts {
  companyName: string;
  /** The number the call comes from (call metadata), when it is a real number. */
  callerNumber: string | null;
  customer: string | null;
  phone: string | null;
  problemType: ProblemType | null;
  description: string | null;
  solved: boolean | null;
}

interface Texts {
  role: (company: string) => string;
  rules: string;
  fixes: string;
  goals: Partial<Record<DialogState, string>>;
  factsTitle: string;
  none: string;
  callerNumber: (n: string) => string;
  customer: (name: string, phone: string) => string;
  problem: (type: ProblemType, description: string) => string;
  solved: (solved: boolean) => string;
  callback: (when: string) => string;
}

const FR: Texts = {
  role: (company) =>
    `Tu es l'assistant vocal du service après-vente${company === "" ? "" : ` de ${company}`}. Tu parles au téléphone avec un client, en français.`,
  rules: [
    "Règles de l'oral : une ou deux phrases courtes par réponse, une seule question à la fois.",
    "Jamais de liste, de markdown, d'emoji ni d'abréviation ; écris les nombres en chiffres simples ou en lettres, et les numéros de téléphone deux chiffres par deux.",
    "Vouvoie le client, reste poli et bref. Ne promets rien que les outils ne font pas.",
    "Le nom, le numéro, le problème et le résultat sont notés automatiquement à partir de la conversation : tu n'as rien à enregistrer, réponds toujours par une phrase.",
    "Quand le client donne un numéro de rappel, relis-le lui deux chiffres par deux et demande-lui s'il est exact.",
    "Si le client veut parler à un technicien, ou si rien ne marche, appelle request_technician. Quand le client n'a plus besoin de rien, dis au revoir et appelle end_call.",
    "N'annonce jamais de numéro de dossier : il est donné automatiquement à la fin de l'appel.",
  ].join("\n"),
  fixes: [
    "Solutions connues :",
    "Internet (box, wifi) : débrancher la box pendant trente secondes, la rebrancher, puis attendre que les voyants soient fixes.",
    "Mobile : éteindre le téléphone puis le rallumer.",
    "Autre problème : pas de solution au téléphone, propose un technicien.",
  ].join("\n"),
  goals: {
    IDENTIFICATION:
      "Étape : identification. Demande le nom du client et le numéro où le rappeler. Si le client commence par décrire son problème, donne d'abord la solution connue, puis demande nom et numéro.",
    DIAGNOSTIC: "Étape : diagnostic. Fais décrire le problème au client.",
    SOLUTION:
      "Étape : solution. Donne la solution connue pour ce problème, puis demande si cela fonctionne. Si le nom ou le numéro manquent encore, demande-les aussi.",
    VERIFICATION:
      "Étape : vérification. Si le problème est résolu, demande s'il y a autre chose, sinon dis au revoir et appelle end_call. S'il ne l'est pas, propose un technicien avec request_technician.",
  },
  factsTitle: "Déjà connu :",
  none: "rien pour l'instant.",
  callerNumber: (n) => `Le client appelle du ${n} ; tu peux lui proposer d'être rappelé à ce numéro.`,
  customer: (name, phone) => `Client : ${name}, numéro de rappel ${phone} (confirmé).`,
  problem: (type, description) => `Problème (${type}) : ${description}`,
  solved: (solved) => (solved ? "La solution a fonctionné." : "La solution n'a pas fonctionné."),
  callback: (when) => `Un technicien vous rappellera ${when}.`,
};

const EN: Texts = {
  role: (company) => `You are the phone assistant of ${company === "" ? "the" : `${company}'s`} after-sales service, speaking English with a customer.`,
  rules: [
    "Speak for the phone: one or two short sentences per reply, one question at a time; no lists, markdown, emojis or abbreviations; numbers as plain digits or words.",
    "Name, number, problem and outcome are recorded for you from the conversation: never record anything, always answer in words. Read a callback number back, two digits at a time, and ask if it is right.",
    "If the caller wants a technician or nothing works, call request_technician. When the caller needs nothing more, say goodbye and call end_call. Never announce a ticket number.",
  ].join("\n"),
  fixes:
    "Known fixes: internet (box, wifi): unplug the box for thirty seconds, plug it back, wait for steady lights. Mobile: switch the phone off and on. Other: offer a technician.",
  goals: {
    IDENTIFICATION: "Step: identification. Ask for the caller's name and callback number; if they start with their problem, give the known fix first.",
    DIAGNOSTIC: "Step: diagnosis. Have the caller describe the problem.",
    SOLUTION: "Step: solution. Give the known fix and ask whether it works. Ask for name and number if still missing.",
    VERIFICATION: "Step: verification. Solved: ask if there is anything else, else say goodbye and call end_call. Not solved: offer a technician.",
  },
  factsTitle: "Known so far:",
  none: "nothing yet.",
  callerNumber: (n) => `The caller is calling from ${n}; you may offer to use that number.`,
  customer: (name, phone) => `Customer: ${name}, callback number ${phone} (confirmed).`,
  problem: (type, description) => `Problem (${type}): ${description}`,
  solved: (solved) => (solved ? "The fix worked." : "The fix did not work."),
  callback: (when) => `A technician will call you back ${when}.`,
};

const PT: Texts = {
  role: (company) => `Você é o assistente telefônico do pós-venda${company === "" ? "" : ` da ${company}`}, falando português com um cliente.`,
  rules: [
    "Fale para o telefone: uma ou duas frases curtas por resposta, uma pergunta por vez; sem listas, markdown, emojis ou abreviações; números em algarismos simples ou por extenso.",
    "Nome, número, problema e resultado são registrados para você a partir da conversa: nunca registre nada, responda sempre com palavras. Leia o número de retorno de volta e pergunte se está certo.",
    "Se o cliente quiser um técnico ou nada funcionar, chame request_technician. Quando o cliente não precisar de mais nada, despeça-se e chame end_call. Nunca anuncie número de protocolo.",
  ].join("\n"),
  fixes:
    "Soluções conhecidas: internet (modem, wifi): desligar o modem da tomada por trinta segundos, religar, esperar as luzes fixas. Celular: desligar e ligar o aparelho. Outro: ofereça um técnico.",
  goals: {
    IDENTIFICATION: "Etapa: identificação. Peça o nome e o número para retorno; se o cliente começar pelo problema, dê antes a solução conhecida.",
    DIAGNOSTIC: "Etapa: diagnóstico. Peça que descreva o problema.",
    SOLUTION: "Etapa: solução. Dê a solução conhecida e pergunte se funcionou. Peça nome e número se ainda faltarem.",
    VERIFICATION: "Etapa: verificação. Resolvido: pergunte se há mais algo, senão despeça-se e chame end_call. Não resolvido: ofereça um técnico.",
  },
  factsTitle: "Já se sabe:",
  none: "nada ainda.",
  callerNumber: (n) => `O cliente liga do ${n}; você pode propor usar esse número.`,
  customer: (name, phone) => `Cliente: ${name}, número para retorno ${phone} (confirmado).`,
  problem: (type, description) => `Problema (${type}): ${description}`,
  solved: (solved) => (solved ? "A solução funcionou." : "A solução não funcionou."),
  callback: (when) => `Um técnico vai ligar de volta ${when}.`,
};

const TEXTS: Readonly<Record<string, Texts>> = { "fr-FR": FR, "en-US": EN, "pt-BR": PT };

export const AI_PROMPT_LANGUAGES = Object.keys(TEXTS);

function textsFor(language: string): Texts {
  const texts = TEXTS[language];
  if (!texts) {
    throw new Error(`AI dialog language ${JSON.stringify(language)} has no prompts: use one of ${AI_PROMPT_LANGUAGES.join(", ")}`);
  }
  return texts;
}

/** Throws the clear error for a language without prompts; called once when a dialog is created. */
export function checkPromptLanguage(language: string): void {
  textsFor(language);
}

/** The system message for `state`: role, rules, known fixes, the state's goal and the recorded facts. */
export function systemPrompt(language: string, state: DialogState, facts: PromptFacts): string {
  const t = textsFor(language);
  const known: string[] = [];
  if (facts.customer !== null && facts.phone !== null) known.push(t.customer(facts.customer, facts.phone));
  else if (facts.callerNumber !== null) known.push(t.callerNumber(facts.callerNumber));
  if (facts.problemType !== null) known.push(t.problem(facts.problemType, facts.description ?? ""));
  if (facts.solved !== null) known.push(t.solved(facts.solved));
  return [
    t.role(facts.companyName),
    t.rules,
    t.fixes,
    t.goals[state] ?? "",
    `${t.factsTitle} ${known.length === 0 ? t.none : known.join(" ")}`,
  ]
    .filter((line) => line !== "")
    .join("\n\n");
}

/** "Un technicien vous rappellera lundi à partir de 9 heures." from the worded opening. */
export function callbackSentence(language: string, when: string): string {
  return textsFor(language).callback(when);
}
