/** install's question about the store: SQLite by Enter; a PostgreSQL URL kept only once it connected, its password never drawn. */
import { expect, test } from "bun:test";
import { mergeAnswers } from "../../src/install/answers.ts";
import { envDiff } from "../../src/install/env-render.ts";
import { askAnswers } from "../../src/install/prompts.ts";
import { terminal } from "../support/prompt-terminal.ts";

/** No key typed: PBX, addresses, host, AMI, the four keys, Google's file, company, language, hours, transfer, ports. */
const UP_TO_THE_STORE = Array.from({ length: 14 }, () => "\r");
const DOWN = "\x1b[B";
const CLEAR_LINE = "\x15";

test("a shared PostgreSQL: the URL, then its password (never drawn), checked by connecting, then this appliance's NODE_ID", async () => {
  const t = terminal([...UP_TO_THE_STORE, `${DOWN}\r`, "postgres://vb@db.example:5432/voicebot?sslmode=require\r", 's3cr"t@\r', `${CLEAR_LINE}vb-paris-1\r`]);
  const checked: string[] = [];
  const answers = await askAnswers(mergeAnswers([new Map([["AUDIOSOCKET_ALLOW", "192.0.2.20"]])], () => "192.0.2.10"), {
    input: t.input, output: t.output, checkKey: async () => ({ ok: true, detail: "" }),
    checkStore: async (url) => {
      checked.push(url);
      return { ok: true, detail: "postgres://vb:***@db.example:5432/voicebot?sslmode=require: connected, 3 ms round trip" };
    },
  });
  t.stop();
  const url = "postgres://vb:s3cr%22t%40@db.example:5432/voicebot?sslmode=require";
  expect(checked).toEqual([url]);
  expect([answers.get("STORE_URL"), answers.get("NODE_ID")]).toEqual([url, "vb-paris-1"]);
  expect(t.drawn()).toContain("PostgreSQL OK: postgres://vb:***@db.example");
  expect(t.drawn()).not.toContain("s3cr");
}, 20_000);

test("a URL with its password in it is refused at the prompt; a refused connection and No keep the store as it was", async () => {
  const before = "postgres://vb:old-secret@db1.example/voicebot";
  const t = terminal([...UP_TO_THE_STORE, "\r", "postgres://vb:typed@db2.example/voicebot\r", CLEAR_LINE, "postgres://vb@db2.example/voicebot\r", "pw\r", "n"]);
  const answers = await askAnswers(mergeAnswers([new Map([["AUDIOSOCKET_ALLOW", "192.0.2.20"], ["STORE_URL", before]])], () => "192.0.2.10"), {
    input: t.input, output: t.output, checkKey: async () => ({ ok: true, detail: "" }),
    checkStore: async () => ({ ok: false, detail: "PostgreSQL at postgres://vb:***@db2.example/voicebot cannot be reached" }),
  });
  t.stop();
  expect(answers.get("STORE_URL")).toBe(before);
  expect(t.drawn()).toContain("leave the password out");
  expect(t.drawn()).toContain("PostgreSQL refused: PostgreSQL at postgres://vb:***@db2.example/voicebot cannot be reached");
  expect(t.drawn()).toContain("The store stays postgres://vb:***@db1.example/voicebot");
  expect(t.drawn()).not.toContain("old-secret");
}, 20_000);

test("Enter keeps SQLite: no STORE_URL is written", async () => {
  const t = terminal([...UP_TO_THE_STORE, "\r"]);
  const answers = await askAnswers(mergeAnswers([new Map([["AUDIOSOCKET_ALLOW", "192.0.2.20"]])], () => "192.0.2.10"), {
    input: t.input, output: t.output, checkKey: async () => ({ ok: true, detail: "" }), checkStore: async () => ({ ok: false, detail: "not asked" }),
  });
  t.stop();
  expect(answers.get("STORE_URL")).toBe("");
  expect(answers.has("NODE_ID")).toBe(false);
}, 20_000);

test("a re-run's diff shows a changed STORE_URL without its passwords", () => {
  const diff = envDiff(new Map([["STORE_URL", "postgres://vb:one@db1/voicebot"]]), new Map([["STORE_URL", "postgres://vb:two@db2/voicebot"]]));
  expect(diff).toEqual(['~ STORE_URL: "postgres://vb:***@db1/voicebot" → "postgres://vb:***@db2/voicebot"']);
});
