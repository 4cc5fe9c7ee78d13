import { describe, expect, test } from "bun:test";
import { callableNumber, PROBE_CALLER } from "../../src/transports/caller-id.ts";
import { parseMetadata } from "../../src/transports/audiostream-url.ts";

describe("caller ids that are no number to call back become unknown (null)", () => {
  test.each([
    "0000000000", "0", "000", "+0000", "anonymous", "Anonymous", "ANONYMOUS", "unknown", "Unknown", "restricted",
    "Restricted", "private", "unavailable", "", "   ", "+", "++33612345678", "sip:0612345678@pbx", "06 12 ab", "*31#",
  ])("%p → null", (raw) => {
    expect(callableNumber(raw)).toBeNull();
  });

  test.each([
    ["0612345678", "0612345678"],
    [" +33 6 12 34 56 78 ", "+33 6 12 34 56 78"],
    ["+33612345678", "+33612345678"],
    ["06.12.34.56.78", "06.12.34.56.78"],
    ["101", "101"],
  ])("%p → %p", (raw, number) => {
    expect(callableNumber(raw)).toBe(number);
  });

  test("null stays null; the doctor's synthetic caller keeps its marker (it opens no ticket)", () => {
    expect(callableNumber(null)).toBeNull();
    expect(callableNumber(PROBE_CALLER)).toBe(PROBE_CALLER);
    // What Asterisk's Originate makes of it (ast_shrink_phone_number drops "-").
    expect(callableNumber("voicebotdoctor")).toBe(PROBE_CALLER);
  });

  test("FreeSWITCH's metadata: caller_id_number 0000000000 (its default) is no caller number", () => {
    expect(parseMetadata('{"caller_id_number":"0000000000","destination_number":"8000"}').fields).toMatchObject({ caller: null, dnis: "8000" });
    expect(parseMetadata('{"caller":"anonymous"}').fields.caller).toBeNull();
    expect(parseMetadata('{"ani":"0612345678"}').fields.caller).toBe("0612345678");
  });
});
