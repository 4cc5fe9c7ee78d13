import { describe, expect, test } from "bun:test";
import { benchCommand } from "../../src/cli/bench.ts";
import { FAULT_KINDS, parseFault } from "../../src/cli/bench-faults.ts";
import { UsageError } from "../../src/cli/command.ts";

describe("bench --fault", () => {
  test("every kind the issue names is accepted; anything else is refused, naming the allowed kinds", () => {
    expect([...FAULT_KINDS]).toEqual(["stt-stall", "stt-500", "stt-drop", "tts-stall", "tts-500", "llm-stall", "llm-500"]);
    for (const kind of FAULT_KINDS) expect(parseFault(kind)).toBe(kind);
    expect(parseFault(undefined)).toBeNull();
    expect(() => parseFault("stt-slow")).toThrow(UsageError);
    expect(() => parseFault("stt-slow")).toThrow(/--fault "stt-slow" is not allowed; use one of stt-stall, stt-500/);
  });

  test("refused before anything starts: without --fake-providers, or with an unknown kind", async () => {
    await expect(benchCommand.run(["--fault", "stt-stall"])).rejects.toThrow(/--fault only go with --fake-providers/);
    await expect(benchCommand.run(["--fake-providers", "--fault", "nope"])).rejects.toThrow(/--fault "nope" is not allowed/);
  });
});
