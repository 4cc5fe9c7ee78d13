import { expect, test } from "bun:test";
import { rootLogger } from "../../src/log.ts";
import { Store } from "../../src/store/store.ts";
import { tempStores } from "../support/temp-stores.ts";

const { tempDir, open } = tempStores("voicebot-store-batch-");
const T0 = Date.UTC(2026, 10, 22, 9, 0, 0);



const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const call = (uuid: string) => ({ uuid, transport: "audiosocket", tenant: "default", caller: null, peer: "127.0.0.1:1", sampleRate: 8000, startedAt: T0 });


test("batched: a turn's writes commit together right after it, and the writer reads them at once", async () => {
  const dataDir = tempDir();
  const writer = open(dataDir);
  writer.batchWritesPerTurn(rootLogger);
  const reader = open(dataDir, { readonly: true });
  const ids = [1, 2, 3].map((n) => writer.insertCall(call(`call-${n}`)));
  for (const id of ids) writer.setCallAnswered(id, T0 + 1);
  expect(writer.countCalls()).toBe(3);
  expect(reader.countCalls()).toBe(0);
  await nextTurn();
  expect(reader.countCalls()).toBe(3);
  expect(reader.getCall(ids[2] as number)?.answeredAt).toBe(T0 + 1);
});

test("batched: a bad write fails alone; the rest of its turn is committed", async () => {
  const dataDir = tempDir();
  const writer = open(dataDir);
  writer.batchWritesPerTurn(rootLogger);
  const reader = open(dataDir, { readonly: true });
  const id = writer.insertCall(call("good"));
  expect(() => writer.setCallAnswered(9999, T0)).toThrow("9999");
  writer.addTurn(id, { speaker: "bot", text: "Bonjour", startedAt: T0 });
  await nextTurn();
  expect(reader.getCall(id)?.turns.map((t) => t.text)).toEqual(["Bonjour"]);
});

test("batched: close() commits what the last turn wrote", () => {
  const dataDir = tempDir();
  const writer = Store.open(dataDir);
  writer.batchWritesPerTurn(rootLogger);
  writer.insertCall(call("last"));
  writer.close();
  const reader = open(dataDir, { readonly: true });
  expect(reader.countCalls()).toBe(1);
});
