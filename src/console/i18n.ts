/**
 * French and English. The language is the one picked on the page (kept in this browser), else the
 * browser's when it is French or English, else the tenant's.
 */
import { formatDuration as formatClockDuration } from "../cli/format.ts";
import { EN } from "./strings-en.ts";
import { FR } from "./strings-fr.ts";

export type Lang = "fr" | "en";
export type Key = keyof typeof EN;

const PICKED = "voicebot.lang";
let current: Lang = initial();
document.documentElement.lang = current;
const listeners = new Set<() => void>();

function initial(): Lang {
  const picked = localStorage.getItem(PICKED);
  if (picked === "fr" || picked === "en") return picked;
  const browser = navigator.language.slice(0, 2).toLowerCase();
  return browser === "fr" ? "fr" : "en";
}

export function lang(): Lang {
  return current;
}

/** The tenant's language decides only when the browser's is neither French nor English and none was picked. */
export function followTenant(tenantLanguage: string): void {
  if (localStorage.getItem(PICKED) !== null) return;
  const browser = navigator.language.slice(0, 2).toLowerCase();
  if (browser === "fr" || browser === "en") return;
  const tenant = tenantLanguage.slice(0, 2).toLowerCase();
  if (tenant === "fr" || tenant === "en") set(tenant);
}

export function pickLang(l: Lang): void {
  localStorage.setItem(PICKED, l);
  set(l);
}

function set(l: Lang): void {
  if (l === current) return;
  current = l;
  document.documentElement.lang = l;
  for (const listener of listeners) listener();
}

export function onLangChange(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function t(key: Key, vars: Record<string, string | number> = {}): string {
  const text: string = current === "fr" ? FR[key] : EN[key];
  return text.replace(/\{(\w+)\}/g, (_, name: string) => String(vars[name] ?? `{${name}}`));
}

const locale = (): string => (current === "fr" ? "fr-FR" : "en-GB");

/** Formatters are costly to make: one of each per language, reused for every row. */
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(kind: "time" | "clock"): Intl.DateTimeFormat {
  const key = `${current}:${kind}`;
  let f = formatters.get(key);
  if (f === undefined) {
    f = new Intl.DateTimeFormat(locale(), kind === "time" ? { dateStyle: "short", timeStyle: "medium" } : { timeStyle: "medium" });
    formatters.set(key, f);
  }
  return f;
}

export function formatTime(ms: number): string {
  return formatter("time").format(ms);
}

export function formatClock(ms: number): string {
  return formatter("clock").format(ms);
}

/** 75_000 → "1:15"; 3_725_000 → "1:02:05"; null (still going, or unknown) → "—". */
export function formatDuration(ms: number | null): string {
  return ms === null ? "—" : formatClockDuration(ms);
}

export function formatNumber(n: number): string {
  return n.toLocaleString(locale(), { maximumFractionDigits: 0 });
}
