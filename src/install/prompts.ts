/**
 * The interactive questions of `voicebot install` (@clack/prompts). Every question starts on the
 * current value (a re-run) or a sensible default, so pressing Enter throughout keeps everything.
 */
import { cancel, confirm, intro, isCancel, log, outro, password, select, spinner, text } from "@clack/prompts";
import type { Readable, Writable } from "node:stream";
import { transferTargetProblem } from "../config/load-pbx.ts";
import { parseTechHours } from "../dialog/business-hours.ts";
import { SUPPORTED_LANGUAGES } from "../dialog/phrases.ts";
import { parseAllowList } from "../transports/allowlist.ts";
import type { Answers } from "./answers.ts";
import { googleKeyProblem } from "./google-key.ts";
import { askStore } from "./prompts-store.ts";

/** `google`'s "key" is the path of a service-account JSON file. */
export type KeyKind = "deepgram" | "groq" | "openai" | "anthropic" | "google";

/** What the live check of a typed key found: "OK — first token in 310 ms" or why it was refused. */
export interface KeyCheck {
  ok: boolean;
  detail: string;
}

export interface PromptIo {
  input?: Readable;
  output?: Writable;
  checkKey: (kind: KeyKind, key: string, answers: Answers) => Promise<KeyCheck>;
  /**
   * The answers with what nobody gave re-derived from those so far (install's rule): a question
   * about a derived setting (this host's address, AMI / ESL) starts on what the PBX address typed
   * earlier implies. Absent: the current values.
   */
  derive?: (answers: Answers) => Answers;
  /** Connects to a PostgreSQL STORE_URL before it is kept; absent: probeStoreUrl. */
  checkStore?: (url: string) => Promise<KeyCheck>;
}

/** The admin pressed Ctrl-C: install stops before changing anything. */
export class InstallCancelled extends Error {
  constructor() {
    super("install cancelled: nothing was changed");
    this.name = "InstallCancelled";
  }
}

function answer<T>(value: T | symbol): T {
  if (isCancel(value)) throw new InstallCancelled();
  return value as T;
}

const KEYS: readonly { kind: KeyKind; name: string; label: string; offline: string }[] = [
  { kind: "deepgram", name: "DEEPGRAM_API_KEY", label: "Deepgram API key (speech recognition)", offline: "the caller uses the keypad" },
  { kind: "groq", name: "GROQ_API_KEY", label: "Groq API key (language model)", offline: "the keypad dialog runs the call" },
  { kind: "openai", name: "OPENAI_API_KEY", label: "OpenAI API key (voice, and the model when Groq has no key)", offline: "the embedded eSpeak voice speaks" },
  { kind: "anthropic", name: "ANTHROPIC_API_KEY", label: "Anthropic API key (Claude as the language model)", offline: "the other models, if any, answer" },
];

const MODELS = [
  { value: "groq", key: "GROQ_API_KEY", label: "Groq (Llama: the fastest first token)" },
  { value: "openai", key: "OPENAI_API_KEY", label: "OpenAI" },
  { value: "anthropic", key: "ANTHROPIC_API_KEY", label: "Anthropic Claude" },
] as const;

const VOICES = [
  { value: "openai", key: "OPENAI_API_KEY", label: "OpenAI's voice" },
  { value: "deepgram", key: "DEEPGRAM_API_KEY", label: "Deepgram Aura (the same Deepgram key as the ears)" },
  { value: "google", key: "GOOGLE_APPLICATION_CREDENTIALS", label: "Google Cloud Text-to-Speech (the service account)" },
] as const;

const EARS = [
  { value: "deepgram", key: "DEEPGRAM_API_KEY", label: "Deepgram" },
  { value: "google", key: "GOOGLE_APPLICATION_CREDENTIALS", label: "Google Cloud Speech-to-Text (the service account)" },
] as const;

/** Google's speech (both ways) comes with a service-account JSON file: its path, checked like a key. */
async function askGoogleKey(a: Answers, io: PromptIo, common: { input?: Readable; output?: Writable }): Promise<void> {
  const had = (a.get("GOOGLE_APPLICATION_CREDENTIALS") ?? "") !== "";
  const typed = String(answer(await text({
    ...common,
    message: `Google Cloud service-account JSON file (Google's speech, ears and voice): ${had ? "Enter keeps the current one, '-' removes it" : "its path, or Enter to skip"}`,
    validate: (v) => {
      const path = (v ?? "").trim();
      return path === "" || path === "-" ? undefined : googleKeyProblem(path);
    },
  })) ?? "").trim();
  if (typed === "-") a.set("GOOGLE_APPLICATION_CREDENTIALS", "");
  if (typed === "" || typed === "-") return;
  const spin = spinner(common);
  spin.start("checking the Google service account");
  const check = await io.checkKey("google", typed, a);
  spin.stop(`Google service account ${check.ok ? "OK" : "refused"}: ${check.detail}`);
  const keep = check.ok || answer(await confirm({ ...common, message: "Keep this service account anyway? (Google's speech stays off until it works)", initialValue: false }));
  if (keep) a.set("GOOGLE_APPLICATION_CREDENTIALS", typed);
}

/**
 * Which of the keyed providers leads, asked only when there is a choice: the language model when
 * two or more have a key (the others become its fallback), the voice when a cloud voice has one.
 */
async function askProviders(a: Answers, common: { input?: Readable; output?: Writable }): Promise<void> {
  const keyed = <T extends { key: string }>(list: readonly T[]) => list.filter((p) => (a.get(p.key) ?? "") !== "");
  const ears = keyed(EARS);
  if (a.get("STT_PROVIDER") !== "offline" && !ears.some((e) => e.value === a.get("STT_PROVIDER"))) a.delete("STT_PROVIDER");
  // Deepgram's key alone keeps today's default (no question); Google's service account is asked about.
  if (ears.some((e) => e.value === "google")) {
    a.set("STT_PROVIDER", answer<string>(await select({
      ...common, message: "Which ears hear the caller?",
      initialValue: a.get("STT_PROVIDER") ?? ears[0]?.value, options: [...ears.map((e) => ({ value: e.value, label: e.label })), { value: "offline", label: "None: the caller uses the keypad" }],
    })));
  }
  const models = keyed(MODELS);
  if (!models.some((m) => m.value === a.get("LLM_PROVIDER"))) a.delete("LLM_PROVIDER");
  if (models.length > 1) {
    a.set("LLM_PROVIDER", answer<string>(await select({
      ...common, message: "Which language model leads? (the others with a key are its fallback)",
      initialValue: a.get("LLM_PROVIDER") ?? models[0]?.value, options: models.map((m) => ({ value: m.value, label: m.label })),
    })));
  }
  const voices = keyed(VOICES);
  if (a.get("TTS_PROVIDER") !== "offline" && !voices.some((v) => v.value === a.get("TTS_PROVIDER"))) a.delete("TTS_PROVIDER");
  if (voices.length > 0) {
    a.set("TTS_PROVIDER", answer<string>(await select({
      ...common, message: "Which voice speaks?",
      initialValue: a.get("TTS_PROVIDER") ?? voices[0]?.value,
      options: [...voices.map((v) => ({ value: v.value, label: v.label })), { value: "offline", label: "The embedded eSpeak-NG voice (no key, robotic)" }],
    })));
  }
}

/** Asks every question; returns the answers with the admin's choices applied. */
export async function askAnswers(current: Answers, io: PromptIo): Promise<Answers> {
  const common = { input: io.input, output: io.output };
  const a = new Map(current);
  const textOf = async (name: string, message: string, validate?: (v: string) => string | undefined): Promise<void> => {
    const value = answer(await text({ ...common, message, initialValue: a.get(name) ?? "", validate: validate ? (v) => validate((v ?? "").trim()) : undefined }));
    a.set(name, String(value ?? "").trim());
  };
  intro("voicebot install", common);

  a.set("PBX", answer<string>(await select({
    ...common,
    message: "Which PBX sends the calls?",
    initialValue: a.get("PBX") ?? "asterisk",
    options: [
      { value: "asterisk", label: "Asterisk (AudioSocket)" },
      { value: "freeswitch", label: "FreeSWITCH / FusionPBX (mod_audio_stream)" },
      { value: "both", label: "Both" },
    ],
  })));
  await textOf("AUDIOSOCKET_ALLOW", "The PBX's IP addresses (comma-separated; the firewall opens the call ports to these only)", (v) => {
    if (v === "") return "give at least one address, e.g. 192.0.2.20 (127.0.0.1 for a PBX on this host)";
    try {
      parseAllowList(v);
      return undefined;
    } catch (err) {
      return err instanceof Error ? err.message : String(err);
    }
  });
  const suggest = (key: string): void => {
    const derived = io.derive?.(a).get(key);
    if (derived !== undefined) a.set(key, derived);
  };
  suggest("PUBLIC_HOST");
  await textOf("PUBLIC_HOST", "This host's IP address, as the PBX reaches it (detected; 127.0.0.1 for a PBX on this host)");
  await askPbxControl(a, suggest, textOf);

  for (const key of KEYS) {
    const had = (a.get(key.name) ?? "") !== "";
    const typed = String(answer(await password({
      ...common,
      message: `${key.label}: ${had ? "Enter keeps the current key, '-' removes it" : `Enter skips it (${key.offline})`}`,
    })) ?? "").trim();
    if (typed === "-") a.set(key.name, "");
    if (typed === "" || typed === "-") continue;
    const spin = spinner(common);
    spin.start(`checking the ${key.kind} key`);
    const check = await io.checkKey(key.kind, typed, a);
    spin.stop(`${key.kind} key ${check.ok ? "OK" : "refused"}: ${check.detail}`);
    const keep = check.ok || answer(await confirm({ ...common, message: `Keep this ${key.kind} key anyway? (that part stays offline until it works)`, initialValue: false }));
    if (keep) a.set(key.name, typed);
  }

  await askGoogleKey(a, io, common);
  await askProviders(a, common);

  await textOf("COMPANY_NAME", "Company name (the bot says it in its greeting)");
  a.set("LANGUAGE", answer<string>(await select({
    ...common,
    message: "Language the bot speaks",
    initialValue: a.get("LANGUAGE") ?? "fr-FR",
    options: SUPPORTED_LANGUAGES.map((l) => ({ value: l, label: l })),
  })));
  await textOf("TECH_HOURS", "Technician hours (e.g. mon-fri 09:00-18:00; sat 09:00-12:00)", (v) => {
    try {
      parseTechHours(v);
      return undefined;
    } catch (err) {
      return err instanceof Error ? err.message : String(err);
    }
  });
  await textOf("TRANSFER_TARGET", "Technicians' line for transfers, exten@context (empty: a technician calls back)", (v) => (v === "" ? undefined : transferTargetProblem(v) ?? undefined));

  const ports = `AudioSocket ${a.get("AUDIOSOCKET_PORT")}, mod_audio_stream ${a.get("AUDIOSTREAM_PORT")}, admin ${a.get("HTTP_PORT")}`;
  if (!answer(await confirm({ ...common, message: `Keep these ports? ${ports}`, initialValue: true }))) {
    const port = (v: string) => (/^\d+$/.test(v) && Number(v) >= 1024 && Number(v) <= 65535 ? undefined : "a port from 1024 to 65535");
    await textOf("AUDIOSOCKET_PORT", "AudioSocket port", port);
    await textOf("AUDIOSTREAM_PORT", "mod_audio_stream port", port);
    await textOf("HTTP_PORT", "Admin port (health, metrics, the dialplan's API)", port);
  }
  await askStore(a, io, common, () => new InstallCancelled());
  log.info("Thanks: installing now.", common);
  return a;
}

/**
 * The PBX's control socket: AMI for Asterisk, ESL for FreeSWITCH, suggested at the PBX address just
 * given (unless the admin had chosen another before). Only the address is asked: the port is the standard
 * one and the secret is generated and written on both sides (answers files may set either).
 */
async function askPbxControl(a: Answers, suggest: (key: string) => void, textOf: (name: string, message: string, validate?: (v: string) => string | undefined) => Promise<void>): Promise<void> {
  const pbx = a.get("PBX") ?? "asterisk";
  const host = (v: string) => (v === "" || /^[A-Za-z0-9.:-]+$/.test(v) ? undefined : "an IP address or host name, or empty for none");
  if (pbx !== "freeswitch") {
    suggest("AMI_HOST");
    await textOf("AMI_HOST", "Asterisk Manager (AMI) address, for hand-offs and doctor's call through the PBX (port 5038, secret generated; empty: none)", host);
  }
  if (pbx !== "asterisk") {
    suggest("ESL_HOST");
    await textOf("ESL_HOST", "FreeSWITCH event socket (ESL) address, for keypad digits, playback, hand-offs and doctor's call (port 8021, password generated; empty: none)", host);
  }
}

export function sayCancelled(io: Pick<PromptIo, "output">, message: string): void {
  cancel(message, { output: io.output });
}

export function sayDone(io: Pick<PromptIo, "output">, message: string): void {
  outro(message, { output: io.output });
}
