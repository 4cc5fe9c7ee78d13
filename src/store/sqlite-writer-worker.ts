/**
 * The SQLite store's one writer connection, on a thread of its own. serve's writes arrive here in
 * batches, one per turn of its event loop, and each batch is one transaction. A commit sometimes
 * waits for the disk: after a checkpoint, the next commit syncs the new WAL header, and with the
 * recordings keeping the disk busy that took over a second (a COMMIT of 1,157 ms in a 100-call
 * run); on the event loop, every call was silent meanwhile, and past 2 s Asterisk hangs up. Here
 * the wait holds up only the writes behind it, and this thread gives way to the event loop when
 * the cores are contended. SQLite's automatic checkpoints and the search indexing of turn texts
 * run here too.
 */
import type { LogFields, Logger, LogLevel } from "../log.ts";
import { giveWayToEventLoop } from "../media/worker-nice.ts";
import { serveRpc, type RpcResult } from "../media/worker-rpc.ts";
import type { StoreNode } from "./calls.ts";
import { applyOp } from "./sqlite-apply.ts";
import { Store } from "./store.ts";
import type { TicketEdit } from "./ticket-edits.ts";
import type { WriteOp } from "./write-ops.ts";

export type WriterRequest =
  | { id: number; op: "open"; dataDir: string; node: StoreNode }
  /** `ops`: the batch's WriteOp[] as JSON. */
  | { id: number; op: "apply"; ops: string }
  | { id: number; op: "edit"; ticketId: number; edit: TicketEdit; by: string; at: number }
  | { id: number; op: "close" };

/** A write of a batch that SQLite refused (the rest of its batch is committed). */
export interface RefusedWrite {
  t: WriteOp["t"];
  id: number;
  error: string;
}

/** Sent outside the replies: a line for serve's log. */
export interface WriterLog {
  log: { level: LogLevel; msg: string; fields?: LogFields };
}

declare const self: Worker;

/** Lines go to serve's logger, which owns the output and its level. */
function postingLogger(): Logger {
  const post = (level: LogLevel) => (msg: string, fields?: LogFields): void => self.postMessage({ log: { level, msg, fields } } satisfies WriterLog);
  const logger: Logger = { debug: post("debug"), info: post("info"), warn: post("warn"), error: post("error"), child: () => logger };
  return logger;
}

let store: Store | null = null;

function opened(): Store {
  if (store === null) throw new Error("the store writer is not open");
  return store;
}

function apply(ops: readonly WriteOp[]): RefusedWrite[] {
  const s = opened();
  const refused: RefusedWrite[] = [];
  s.transaction(() => {
    for (const op of ops) {
      try {
        applyOp(s, op);
      } catch (err) {
        refused.push({ t: op.t, id: op.id, error: err instanceof Error ? err.message : String(err) });
      }
    }
  });
  return refused;
}

giveWayToEventLoop();
serveRpc<WriterRequest>((request): RpcResult => {
  switch (request.op) {
    case "open":
      store ??= Store.open(request.dataDir, { node: request.node });
      store.indexSearchInBackground(postingLogger());
      return { value: null };
    case "apply":
      return { value: apply(JSON.parse(request.ops) as WriteOp[]) };
    case "edit":
      return { value: opened().editTicket(request.ticketId, request.edit, request.by, request.at) };
    case "close":
      store?.close();
      store = null;
      return { value: null };
  }
});
