/** Tunables of the keypad SAV dialog, and their validation. */
import { checkTechnicians, type Technicians } from "./technician.ts";

export interface SavDialogOptions {
  /** The call ends politely on this many invalid answers, counted over the whole call. Default 3. */
  maxInvalidAnswers?: number;
  /** Shortest phone number accepted on the keypad. Default 4. */
  minPhoneDigits?: number;
  /** Longest phone number accepted on the keypad (E.164 allows 15). Default 15. */
  maxPhoneDigits?: number;
  /** Who takes a caller the fix did not help; absent = a technician calls back "as soon as possible". */
  technicians?: Technicians;
}

export type ResolvedSavDialogOptions = Readonly<Required<Omit<SavDialogOptions, "technicians">> & { technicians: Technicians | null }>;

// A bound well past any real phone number, so a typo like 1500 is caught rather than obeyed.
const PHONE_DIGITS_LIMIT = 32;

export function resolveSavDialogOptions(options: SavDialogOptions): ResolvedSavDialogOptions {
  const maxInvalidAnswers = integerIn("maxInvalidAnswers", options.maxInvalidAnswers ?? 3, 1, 100);
  const minPhoneDigits = integerIn("minPhoneDigits", options.minPhoneDigits ?? 4, 1, PHONE_DIGITS_LIMIT);
  const maxPhoneDigits = integerIn("maxPhoneDigits", options.maxPhoneDigits ?? 15, 1, PHONE_DIGITS_LIMIT);
  if (maxPhoneDigits < minPhoneDigits) {
    throw new Error(
      `SAV dialog option maxPhoneDigits is ${maxPhoneDigits}: it must be at least minPhoneDigits (${minPhoneDigits})`,
    );
  }
  const technicians = options.technicians ?? null;
  if (technicians !== null) checkTechnicians(technicians);
  return Object.freeze({ maxInvalidAnswers, minPhoneDigits, maxPhoneDigits, technicians });
}

function integerIn(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`SAV dialog option ${name} is ${String(value)}: it must be an integer from ${min} to ${max}`);
  }
  return value;
}
