/**
 * Technicians' hours (TECH_HOURS): parsing, "are they there now, and if not when?", and the
 * spoken wording of that moment. Times are wall-clock times in the configured IANA zone, read
 * through Intl, so a DST change moves nothing: "09:00" stays nine o'clock local time.
 */

export interface TimeRange {
  /** Minutes since local midnight, inclusive. */
  readonly startMinutes: number;
  /** Minutes since local midnight, exclusive; 1440 = midnight at the end of the day. */
  readonly endMinutes: number;
}

/** Opening ranges per weekday, index 0 = Sunday (as Date.getDay), each sorted and merged. */
export interface TechHours {
  readonly days: readonly (readonly TimeRange[])[];
}

export interface NextOpening {
  /** 0 = Sunday .. 6 = Saturday. */
  readonly weekday: number;
  readonly startMinutes: number;
  /** 0 = later today, 1 = tomorrow, up to 7 (the same weekday next week). */
  readonly daysAhead: number;
  /** The local calendar date of that opening. */
  readonly year: number;
  readonly month: number;
  readonly day: number;
}

export interface Availability {
  readonly availableNow: boolean;
  /** The next opening after now (not the range open now); null when TECH_HOURS has no range at all. */
  readonly next: NextOpening | null;
}

const DAY_NAMES = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"] as const;
const ALLOWED_FORM =
  'the form is "<days> <HH:MM-HH:MM>[,<HH:MM-HH:MM>...]" separated by ";", days being mon..sun, ' +
  'a range "mon-fri" or a list "mon,wed", e.g. "mon-fri 09:00-12:00,14:00-18:00; sat 09:00-12:00"';
const MINUTES_PER_DAY = 1440;

/** Parses TECH_HOURS; throws an Error naming the bad part and the allowed form. */
export function parseTechHours(text: string): TechHours {
  const days: TimeRange[][] = DAY_NAMES.map(() => []);
  const segments = text
    .split(";")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  if (segments.length === 0) throw new Error(`tech hours ${JSON.stringify(text)} are empty: ${ALLOWED_FORM}`);
  for (const segment of segments) {
    const match = /^(\S+)\s+(.+)$/.exec(segment);
    if (!match) throw new Error(`tech hours segment ${JSON.stringify(segment)} has no time range: ${ALLOWED_FORM}`);
    const weekdays = parseDays(match[1] ?? "", segment);
    const ranges = (match[2] ?? "").split(",").map((r) => parseRange(r.trim(), segment));
    for (const weekday of weekdays) days[weekday]?.push(...ranges);
  }
  return { days: days.map(mergeRanges) };
}

function parseDays(text: string, segment: string): number[] {
  const out = new Set<number>();
  for (const item of text.toLowerCase().split(",")) {
    const [first, last, extra] = item.split("-");
    const from = dayIndex(first ?? "", segment);
    if (extra !== undefined) throw new Error(`tech hours day range ${JSON.stringify(item)} in ${JSON.stringify(segment)} has too many "-": ${ALLOWED_FORM}`);
    const to = last === undefined ? from : dayIndex(last, segment);
    // "fri-mon" wraps over the weekend.
    for (let d = from; ; d = (d + 1) % 7) {
      out.add(d);
      if (d === to) break;
    }
  }
  return [...out];
}

function dayIndex(name: string, segment: string): number {
  const index = (DAY_NAMES as readonly string[]).indexOf(name);
  if (index < 0) {
    throw new Error(`tech hours day ${JSON.stringify(name)} in ${JSON.stringify(segment)} is not one of ${DAY_NAMES.join(", ")}: ${ALLOWED_FORM}`);
  }
  return index;
}

function parseRange(text: string, segment: string): TimeRange {
  const match = /^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$/.exec(text);
  if (!match) throw new Error(`tech hours range ${JSON.stringify(text)} in ${JSON.stringify(segment)} is not HH:MM-HH:MM: ${ALLOWED_FORM}`);
  const start = clock(Number(match[1]), Number(match[2]), text, segment);
  const end = clock(Number(match[3]), Number(match[4]), text, segment);
  if (end <= start) {
    throw new Error(`tech hours range ${JSON.stringify(text)} in ${JSON.stringify(segment)} ends before it starts: the end must be later the same day (24:00 at most)`);
  }
  return { startMinutes: start, endMinutes: end };
}

function clock(hours: number, minutes: number, text: string, segment: string): number {
  const total = hours * 60 + minutes;
  if (minutes > 59 || total > MINUTES_PER_DAY) {
    throw new Error(`tech hours range ${JSON.stringify(text)} in ${JSON.stringify(segment)} has an impossible time: hours 00..24, minutes 00..59, 24:00 at most`);
  }
  return total;
}

function mergeRanges(ranges: TimeRange[]): TimeRange[] {
  const sorted = [...ranges].sort((a, b) => a.startMinutes - b.startMinutes);
  const out: TimeRange[] = [];
  for (const range of sorted) {
    const last = out.at(-1);
    if (last && range.startMinutes <= last.endMinutes) {
      out[out.length - 1] = { startMinutes: last.startMinutes, endMinutes: Math.max(last.endMinutes, range.endMinutes) };
    } else {
      out.push(range);
    }
  }
  return out;
}

interface LocalTime {
  weekday: number;
  minutes: number;
  year: number;
  month: number;
  day: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (formatter) return formatter;
  try {
    formatter = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      weekday: "short",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
    });
  } catch {
    throw new Error(`time zone ${JSON.stringify(timeZone)} is not a known IANA zone: use a name such as "Europe/Paris"`);
  }
  formatters.set(timeZone, formatter);
  return formatter;
}

const SHORT_WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

function localTime(timeZone: string, atMs: number): LocalTime {
  if (!Number.isFinite(atMs)) throw new Error(`availability time ${atMs} is not a finite epoch in milliseconds`);
  const fields: Record<string, string> = {};
  for (const part of formatterFor(timeZone).formatToParts(atMs)) fields[part.type] = part.value;
  return {
    weekday: SHORT_WEEKDAYS.indexOf(fields.weekday ?? ""),
    minutes: Number(fields.hour) * 60 + Number(fields.minute),
    year: Number(fields.year),
    month: Number(fields.month),
    day: Number(fields.day),
  };
}

/** Whether a technician is there at `atMs` (epoch ms), and when the next opening is, in `timeZone`'s wall-clock time. */
export function availability(hours: TechHours, timeZone: string, atMs: number): Availability {
  const now = localTime(timeZone, atMs);
  const today = hours.days[now.weekday] ?? [];
  const availableNow = today.some((r) => now.minutes >= r.startMinutes && now.minutes < r.endMinutes);
  for (let daysAhead = 0; daysAhead <= 7; daysAhead++) {
    const weekday = (now.weekday + daysAhead) % 7;
    const range = (hours.days[weekday] ?? []).find((r) => daysAhead > 0 || r.startMinutes > now.minutes);
    if (!range) continue;
    // Calendar arithmetic in UTC: adding days to a date cannot be shifted by the zone's DST.
    const date = new Date(Date.UTC(now.year, now.month - 1, now.day + daysAhead));
    const next: NextOpening = {
      weekday,
      startMinutes: range.startMinutes,
      daysAhead,
      year: date.getUTCFullYear(),
      month: date.getUTCMonth() + 1,
      day: date.getUTCDate(),
    };
    return { availableNow, next };
  }
  return { availableNow, next: null };
}

interface Wording {
  today: string;
  tomorrow: string;
  weekdays: readonly string[];
  nextWeek: (weekday: string) => string;
  from: (hours: number, minutes: number) => string;
}

const WORDINGS: Readonly<Record<string, Wording>> = {
  "fr-FR": {
    today: "aujourd'hui",
    tomorrow: "demain",
    weekdays: ["dimanche", "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi"],
    nextWeek: (weekday) => `${weekday} prochain`,
    from: (h, m) => `à partir de ${h === 0 ? "minuit" : h === 12 ? "midi" : `${h} heure${h > 1 ? "s" : ""}`}${m === 0 ? "" : ` ${m}`}`,
  },
  "en-US": {
    today: "today",
    tomorrow: "tomorrow",
    weekdays: ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"],
    nextWeek: (weekday) => `next ${weekday}`,
    from: (h, m) => `from ${((h + 11) % 12) + 1}${m === 0 ? "" : `:${String(m).padStart(2, "0")}`} ${h < 12 ? "a.m." : "p.m."}`,
  },
  "pt-BR": {
    today: "hoje",
    tomorrow: "amanhã",
    weekdays: ["domingo", "segunda-feira", "terça-feira", "quarta-feira", "quinta-feira", "sexta-feira", "sábado"],
    nextWeek: (weekday) => `na próxima ${weekday}`,
    from: (h, m) => `a partir ${h === 1 ? "da 1 hora" : `das ${h} horas`}${m === 0 ? "" : ` e ${m}`}`,
  },
};

export const CALLBACK_LANGUAGES = Object.keys(WORDINGS);

/** "aujourd'hui à partir de 14 heures", "demain à partir de 9 heures", "lundi à partir de 9 heures 30". */
export function describeOpening(next: NextOpening, language: string): string {
  const wording = WORDINGS[language];
  if (!wording) {
    throw new Error(`callback wording for language ${JSON.stringify(language)} does not exist: use one of ${CALLBACK_LANGUAGES.join(", ")}`);
  }
  const weekday = wording.weekdays[next.weekday] ?? "";
  const day =
    next.daysAhead === 0 ? wording.today : next.daysAhead === 1 ? wording.tomorrow : next.daysAhead === 7 ? wording.nextWeek(weekday) : weekday;
  return `${day} ${wording.from(Math.floor(next.startMinutes / 60), next.startMinutes % 60)}`;
}
