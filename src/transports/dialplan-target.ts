/**
 * Where a hand-off sends the caller: `exten@context[:priority]`, the form tenants' `transferTarget`
 * uses for both PBXes (Asterisk AMI Redirect; FreeSWITCH `uuid_transfer <uuid> <exten> XML <context>`,
 * which ignores the priority). Characters are limited to what dialplans use so that a target can
 * never smuggle a line break into AMI or a space into an ESL command.
 */

export interface DialplanTarget {
  context: string;
  exten: string;
  /** A priority number ("1") or a priority label ("start"). */
  priority: string;
}

const FORM = "exten@context or exten@context:priority (e.g. 2000@from-internal, 2000@techs:start)";
const EXTEN = /^[A-Za-z0-9+*#_.-]+$/;
const CONTEXT = /^[A-Za-z0-9_.-]+$/;
const PRIORITY_NUMBER = /^[1-9][0-9]{0,8}$/;
const PRIORITY_LABEL = /^[A-Za-z_][A-Za-z0-9_-]*$/;

function invalid(text: string, why: string): Error {
  return new Error(`invalid dialplan target ${JSON.stringify(text)}: ${why}; expected ${FORM}`);
}

function checkPart(text: string, name: string, value: string, pattern: RegExp, allowed: string): void {
  if (value.length === 0) throw invalid(text, `the ${name} is empty`);
  if (!pattern.test(value)) throw invalid(text, `the ${name} ${JSON.stringify(value)} may only contain ${allowed}`);
}

export function parseDialplanTarget(text: string): DialplanTarget {
  const trimmed = text.trim();
  if (trimmed.length === 0) throw invalid(text, "it is empty");
  if (/\s/.test(trimmed)) throw invalid(text, "it contains white space");
  if (trimmed.includes(",")) throw invalid(text, "it contains a comma");
  const at = trimmed.split("@");
  if (at.length !== 2) throw invalid(text, at.length === 1 ? "there is no @" : "there is more than one @");
  const exten = at[0]!;
  const rest = at[1]!;
  const colon = rest.split(":");
  if (colon.length > 2) throw invalid(text, "there is more than one :");
  const context = colon[0]!;
  const priority = colon.length === 2 ? colon[1]! : "1";
  checkPart(text, "extension", exten, EXTEN, "letters, digits and + * # _ . -");
  checkPart(text, "context", context, CONTEXT, "letters, digits and _ . -");
  if (priority.length === 0) throw invalid(text, "the priority after : is empty");
  if (!PRIORITY_NUMBER.test(priority) && !PRIORITY_LABEL.test(priority)) {
    throw invalid(text, `the priority ${JSON.stringify(priority)} is neither a number from 1 nor a label (a letter, then letters, digits, _ or -)`);
  }
  return { context, exten, priority };
}

/** The inverse of parseDialplanTarget; the default priority "1" is left out. */
export function formatDialplanTarget(target: DialplanTarget): string {
  const base = `${target.exten}@${target.context}`;
  return target.priority === "1" ? base : `${base}:${target.priority}`;
}
