/**
 * /etc/voicebot/voicebot.env as install writes it: the settings it asks about in a stable,
 * commented order, then any other key the admin had added, kept as is.
 */
import { maskStoreUrl } from "../config/store-url.ts";

interface Section {
  title: string;
  keys: readonly string[];
}

const ENV_SECTIONS: readonly Section[] = [
  { title: "Which PBX streams calls here, and from which addresses (the firewall opens the call ports to these only)", keys: ["PBX", "AUDIOSOCKET_ALLOW", "PUBLIC_HOST"] },
  { title: "Listeners", keys: ["AUDIOSOCKET_HOST", "AUDIOSOCKET_PORT", "AUDIOSTREAM_HOST", "AUDIOSTREAM_PORT", "AUDIOSTREAM_TOKEN", "AUDIOSTREAM_PLAYBACK", "WEBSOCKET_HOST", "WEBSOCKET_PORT", "WEBSOCKET_TOKEN", "HTTP_HOST", "HTTP_PORT", "ADMIN_TOKEN", "PBX_TOKEN", "MAX_CONCURRENT_CALLS"] },
  { title: "Provider keys: each one left empty keeps its part offline (keypad dialog, embedded voice)", keys: ["DEEPGRAM_API_KEY", "GROQ_API_KEY", "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GOOGLE_APPLICATION_CREDENTIALS"] },
  { title: "Which keyed provider leads (unset: Deepgram's ears; Groq, then OpenAI, then Claude; OpenAI's voice when it has a key)", keys: ["STT_PROVIDER", "LLM_PROVIDER", "TTS_PROVIDER"] },
  { title: "The company and its technicians", keys: ["COMPANY_NAME", "LANGUAGE", "TECH_HOURS", "TZ", "TRANSFER_TARGET"] },
  { title: "PBX control for hand-offs (Asterisk Manager, FreeSWITCH Event Socket)", keys: ["AMI_HOST", "AMI_PORT", "AMI_USER", "AMI_SECRET", "ESL_HOST", "ESL_PORT", "ESL_PASSWORD"] },
  { title: "Where calls and tickets are kept (unset: SQLite in the data dir) and this appliance among those sharing it", keys: ["STORE_URL", "NODE_ID", "NODE_URL"] },
  { title: "Several appliances behind the PBX (pbx-config renders the dialplan that tries them in turn)", keys: ["PBX_NODES", "PBX_NODE_ORDER", "WHEN_FULL"] },
  { title: "Service", keys: ["RECORDINGS_RETENTION_DAYS", "STOP_DRAIN_TIMEOUT", "LOG_LEVEL"] },
];

const KNOWN = new Set(ENV_SECTIONS.flatMap((s) => s.keys));

/** A value as a double-quoted env-file string when it needs quoting (parseEnvFile reads it back). */
function quote(value: string): string {
  if (/^[A-Za-z0-9_.,:/@+=-]*$/.test(value)) return value;
  return `"${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`;
}

export function renderEnvFile(values: ReadonlyMap<string, string>, header: string): string {
  const lines = [`# ${header}`, "# Re-running `sudo voicebot install` keeps every value here unless you change it.", ""];
  for (const section of ENV_SECTIONS) {
    const present = section.keys.filter((k) => values.has(k));
    if (present.length === 0) continue;
    lines.push(`# ${section.title}`);
    for (const key of present) lines.push(`${key}=${quote(values.get(key) ?? "")}`);
    lines.push("");
  }
  const others = [...values.keys()].filter((k) => !KNOWN.has(k)).sort();
  if (others.length > 0) {
    lines.push("# Kept from the previous file");
    for (const key of others) lines.push(`${key}=${quote(values.get(key) ?? "")}`);
    lines.push("");
  }
  return lines.join("\n");
}

function isSecretKey(key: string): boolean {
  return /(KEY|SECRET|PASSWORD|TOKEN)$/.test(key);
}

/** What changed between two env files' values, secrets named but never shown. */
export function envDiff(before: ReadonlyMap<string, string>, after: ReadonlyMap<string, string>): string[] {
  const lines: string[] = [];
  // STORE_URL holds a password: shown without it.
  const show = (key: string, v: string): string => (isSecretKey(key) ? (v === "" ? "(empty)" : "(secret)") : JSON.stringify(key === "STORE_URL" ? maskStoreUrl(v) : v));
  for (const key of [...new Set([...before.keys(), ...after.keys()])].sort()) {
    const a = before.get(key);
    const b = after.get(key);
    if (a === b) continue;
    if (a === undefined) lines.push(`+ ${key}=${show(key, b ?? "")}`);
    else if (b === undefined) lines.push(`- ${key} (removed)`);
    else lines.push(isSecretKey(key) ? `~ ${key}: changed` : `~ ${key}: ${show(key, a)} → ${show(key, b)}`);
  }
  return lines;
}
