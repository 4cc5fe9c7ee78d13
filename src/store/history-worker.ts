/**
 * The console's history queries, off the event loop: a text search over 100,000 calls can take
 * a good part of 100 ms, which the playout clock must never wait for. Its own read-only
 * connection (WAL: it reads while serve writes); one query at a time, in order.
 */
import type { CallCursor, CallFilter } from "./call-query.ts";
import { Store } from "./store.ts";

declare const self: Worker;

export interface HistoryRequest {
  id: number;
  dataDir: string;
  filter: CallFilter;
  limit: number;
  after: CallCursor | null;
}

let store: Store | null = null;

self.onmessage = (event: MessageEvent<HistoryRequest | { type: "close" }>) => {
  const m = event.data;
  if ("type" in m) {
    store?.close();
    store = null;
    return;
  }
  try {
    store ??= Store.open(m.dataDir, { readonly: true });
    self.postMessage({ id: m.id, page: store.pageCalls(m.filter, m.limit, m.after) });
  } catch (err) {
    self.postMessage({ id: m.id, error: err instanceof Error ? err.message : String(err) });
  }
};
