import { describe, expect, test } from "bun:test";
import type { CallCursor, CallPage, Store } from "../../src/store/store.ts";
import { tempStores } from "../support/temp-stores.ts";

const stores = tempStores("voicebot-search-");
const T0 = Date.parse("2026-11-01T00:00:00Z");
const MINUTE = 60_000;
/** After every page: the full search (a cursor past every call), to check the newest-first shortcut against. */
const BEYOND: CallCursor = { startedAt: Number.MAX_SAFE_INTEGER, id: Number.MAX_SAFE_INTEGER };

/**
 * `calls` calls a minute apart, each saying "box" in both turns (more matching turns than the
 * search reads at a time), every 7th on tenant "acme"; and long calls that started early but whose
 * matching turn was stored last, as a call lasting an hour would.
 */
function fill(store: Store, calls: number): void {
  const long: number[] = [];
  for (let i = 0; i < calls; i++) {
    const startedAt = T0 + i * MINUTE;
    const id = store.insertCall({ uuid: crypto.randomUUID(), transport: "audiosocket", tenant: i % 7 ? "globex" : "acme", caller: null, peer: "x", sampleRate: 8000, startedAt });
    if (i % 500 === 250) {
      long.push(id);
      continue;
    }
    store.addTurn(id, { speaker: "caller", text: `ma box ne marche plus ${i}`, startedAt: startedAt + 1000 });
    store.addTurn(id, { speaker: "bot", text: "débranchez la box", startedAt: startedAt + 5000 });
    store.endCall(id, { endedAt: startedAt + 30_000, reason: "resolved" });
  }
  for (const id of long) {
    store.addTurn(id, { speaker: "caller", text: "la box encore", startedAt: T0 + calls * MINUTE });
    store.endCall(id, { endedAt: T0 + calls * MINUTE + 1000, reason: "resolved" });
  }
}

const ids = (page: CallPage): number[] => page.calls.map((c) => c.id);

describe("searching the history for a common word", () => {
  test("the first page, read from the newest matches only, is the page the full search gives", () => {
    const store = stores.open(stores.tempDir());
    fill(store, 3000);
    for (const filter of [{ text: "box" }, { text: "box marche" }, { text: "box", tenant: "acme" }, { text: "encore" }, { text: "box", to: T0 + 100 * MINUTE }]) {
      const full = store.pageCalls(filter, 50, BEYOND);
      const first = store.pageCalls(filter, 50);
      expect({ filter, ids: ids(first) }).toEqual({ filter, ids: ids(full) });
      expect(first.next).toEqual(full.next);
    }
  });

  test("the next pages go on from the first without a gap or a repeat", () => {
    const store = stores.open(stores.tempDir());
    fill(store, 3000);
    const all = ids(store.pageCalls({ text: "box" }, 200, BEYOND));
    const seen: number[] = [];
    let page = store.pageCalls({ text: "box" }, 50);
    seen.push(...ids(page));
    while (page.next !== null && seen.length < 200) {
      page = store.pageCalls({ text: "box" }, 50, page.next);
      seen.push(...ids(page));
    }
    expect(seen.slice(0, 200)).toEqual(all);
  });
});
