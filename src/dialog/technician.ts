/**
 * The one rule both SAV dialogs follow when the caller needs a technician: during TECH_HOURS,
 * with a transfer target and a PBX that can hand the caller over, transfer now; otherwise a
 * callback, worded with the next opening ("demain à partir de 9 heures") when there is one.
 */
import { availability, describeOpening, type TechHours } from "./business-hours.ts";
import { callbackSentence, checkPromptLanguage } from "./sav-ai-prompts.ts";
import type { SpeechPart } from "./types.ts";
import { phrase } from "./utterances.ts";

export interface Technicians {
  hours: TechHours;
  /** IANA zone of `hours`, e.g. "Europe/Paris". */
  timezone: string;
  /** BCP 47 language of the spoken callback time: fr-FR, en-US or pt-BR. */
  language: string;
  /** This call's PBX can take the caller to the tenant's technician line (TRANSFER_TARGET and a hand-off path). */
  canTransfer: boolean;
}

export type TechnicianAnswer =
  | { transfer: true }
  /** `lead` says when they call back; `callbackAt` is that moment in words, null = "as soon as possible". */
  | { transfer: false; lead: SpeechPart; callbackAt: string | null };

const AS_SOON_AS_POSSIBLE: TechnicianAnswer = { transfer: false, lead: phrase("escalated"), callbackAt: null };

/** Fails now, naming the zone or language, rather than on the first caller who needs a technician. */
export function checkTechnicians(technicians: Technicians): void {
  checkPromptLanguage(technicians.language);
  availability(technicians.hours, technicians.timezone, 0);
}

/**
 * `atMs` is the call's clock as the dialog knows it (the latest timed event); null = unknown,
 * and then nobody can say whether a technician is there: a callback as soon as possible.
 */
export function technicianAnswer(technicians: Technicians | null, atMs: number | null): TechnicianAnswer {
  if (technicians === null || atMs === null) return AS_SOON_AS_POSSIBLE;
  const { availableNow, next } = availability(technicians.hours, technicians.timezone, atMs);
  if (availableNow && technicians.canTransfer) return { transfer: true };
  // Open now but no way to transfer: they call back during these hours, "as soon as possible".
  if (availableNow || next === null) return AS_SOON_AS_POSSIBLE;
  const callbackAt = describeOpening(next, technicians.language);
  return { transfer: false, lead: { text: callbackSentence(technicians.language, callbackAt) }, callbackAt };
}
