import { describe, expect, test } from "bun:test";
import { availability, describeOpening, parseTechHours, type NextOpening } from "../../src/dialog/business-hours.ts";

const PARIS = "Europe/Paris";
const HOURS = parseTechHours("mon-fri 09:00-12:00,14:00-18:00; sat 09:30-12:00");
const range = (start: string, end: string) => {
  const minutes = (t: string) => Number(t.slice(0, 2)) * 60 + Number(t.slice(3));
  return { startMinutes: minutes(start), endMinutes: minutes(end) };
};

describe("parseTechHours", () => {
  test("day ranges, lists, several ranges per day, merged and sorted", () => {
    const hours = parseTechHours(" mon,wed 14:00-18:00, 09:00-12:00 ; wed 11:00-13:00;sun 00:00-24:00 ");
    expect(hours.days[1]).toEqual([range("09:00", "12:00"), range("14:00", "18:00")]);
    expect(hours.days[3]).toEqual([range("09:00", "13:00"), range("14:00", "18:00")]);
    expect(hours.days[0]).toEqual([{ startMinutes: 0, endMinutes: 1440 }]);
    expect(hours.days[2]).toEqual([]);
  });

  test("a day range may wrap over the weekend", () => {
    const hours = parseTechHours("FRI-MON 10:00-11:00");
    expect(hours.days.map((d) => d.length)).toEqual([1, 1, 0, 0, 0, 1, 1]);
  });

  test.each([
    ["", "are empty"],
    ["mon-fri", "has no time range"],
    ["lun 09:00-12:00", 'day "lun"'],
    ["mon-fri-sat 09:00-12:00", "too many"],
    ["mon 9h-12h", "is not HH:MM-HH:MM"],
    ["mon 12:00-09:00", "ends before it starts"],
    ["mon 09:00-25:00", "impossible time"],
    ["mon 09:75-10:00", "impossible time"],
  ])("%p is refused (%s) with the allowed form", (text, why) => {
    expect(() => parseTechHours(text)).toThrow(why);
    expect(() => parseTechHours(text)).toThrow(/e\.g\.|24:00 at most|later the same day/);
  });
});

describe("availability in Europe/Paris across the March 2026 DST switch", () => {
  test("open in the morning range, closed at lunch, the offset follows summer time", () => {
    // Monday 30 March 2026 is in CEST (UTC+2): 07:00 UTC is 09:00 local.
    expect(availability(HOURS, PARIS, Date.UTC(2026, 2, 30, 7, 0)).availableNow).toBe(true);
    const early = availability(HOURS, PARIS, Date.UTC(2026, 2, 30, 6, 59));
    expect(early.availableNow).toBe(false);
    expect(early.next).toEqual({ weekday: 1, startMinutes: 540, daysAhead: 0, year: 2026, month: 3, day: 30 });
    const lunch = availability(HOURS, PARIS, Date.UTC(2026, 2, 30, 10, 30));
    expect(lunch).toEqual({ availableNow: false, next: { weekday: 1, startMinutes: 840, daysAhead: 0, year: 2026, month: 3, day: 30 } });
    // A week earlier, in CET (UTC+1), 07:00 UTC is 08:00: still closed.
    expect(availability(HOURS, PARIS, Date.UTC(2026, 2, 23, 7, 0)).availableNow).toBe(false);
  });

  test("the next opening skips Sunday and the night of the switch", () => {
    const saturday = availability(HOURS, PARIS, Date.UTC(2026, 2, 28, 12, 0)); // 13:00 CET
    expect(saturday).toEqual({ availableNow: false, next: { weekday: 1, startMinutes: 540, daysAhead: 2, year: 2026, month: 3, day: 30 } });
    const sundayNight = availability(HOURS, PARIS, Date.UTC(2026, 2, 29, 0, 30)); // 01:30 CET, before the switch
    expect(sundayNight.next).toMatchObject({ weekday: 1, daysAhead: 1, day: 30 });
    const friday = availability(HOURS, PARIS, Date.UTC(2026, 2, 27, 17, 0)); // 18:00 CET, just closed
    expect(friday).toEqual({ availableNow: false, next: { weekday: 6, startMinutes: 570, daysAhead: 1, year: 2026, month: 3, day: 28 } });
  });

  test("a single weekly range found again next week; month and year roll over", () => {
    const hours = parseTechHours("wed 10:00-11:00");
    const afterIt = availability(hours, PARIS, Date.UTC(2025, 11, 31, 10, 30)); // Wed 31 Dec 2025, 11:30 CET
    expect(afterIt.next).toEqual({ weekday: 3, startMinutes: 600, daysAhead: 7, year: 2026, month: 1, day: 7 });
  });

  test("bad zone and bad time are refused clearly", () => {
    expect(() => availability(HOURS, "Paris", 0)).toThrow('time zone "Paris" is not a known IANA zone');
    expect(() => availability(HOURS, PARIS, Number.NaN)).toThrow("not a finite epoch");
  });
});

describe("describeOpening", () => {
  const at = (daysAhead: number, weekday: number, startMinutes: number): NextOpening => ({ weekday, startMinutes, daysAhead, year: 2026, month: 3, day: 30 });

  test("French wording", () => {
    expect(describeOpening(at(0, 1, 14 * 60), "fr-FR")).toBe("aujourd'hui à partir de 14 heures");
    expect(describeOpening(at(1, 2, 9 * 60), "fr-FR")).toBe("demain à partir de 9 heures");
    expect(describeOpening(at(2, 1, 9 * 60 + 30), "fr-FR")).toBe("lundi à partir de 9 heures 30");
    expect(describeOpening(at(3, 3, 60), "fr-FR")).toBe("mercredi à partir de 1 heure");
    expect(describeOpening(at(4, 4, 12 * 60), "fr-FR")).toBe("jeudi à partir de midi");
    expect(describeOpening(at(7, 3, 10 * 60), "fr-FR")).toBe("mercredi prochain à partir de 10 heures");
  });

  test("English and Portuguese wording; unknown language refused", () => {
    expect(describeOpening(at(2, 1, 9 * 60 + 30), "en-US")).toBe("Monday from 9:30 a.m.");
    expect(describeOpening(at(0, 1, 14 * 60), "en-US")).toBe("today from 2 p.m.");
    expect(describeOpening(at(1, 2, 9 * 60), "pt-BR")).toBe("amanhã a partir das 9 horas");
    expect(() => describeOpening(at(1, 2, 9 * 60), "de-DE")).toThrow('language "de-DE" does not exist: use one of fr-FR, en-US, pt-BR');
  });
});
