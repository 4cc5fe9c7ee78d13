import { expect, test } from "bun:test";
import { guarded } from "../../src/call/guarded.ts";

test("a guarded timer's throw goes to onError, not to the process (which Bun would end, every call with it)", async () => {
  const errors: unknown[] = [];
  const ran: string[] = [];
  setTimeout(guarded(() => {
    ran.push("dialog");
    throw new Error("SQLITE_FULL: database or disk is full");
  }, (error) => errors.push(error)), 1);
  await Bun.sleep(20);
  expect(ran).toEqual(["dialog"]);
  expect(errors.map(String)).toEqual(["Error: SQLITE_FULL: database or disk is full"]);
  const fine = guarded(() => void ran.push("fine"), (error) => errors.push(error));
  fine();
  expect(ran).toEqual(["dialog", "fine"]);
  expect(errors).toHaveLength(1);
});
