/**
 * Runs SQLite's WAL checkpoints on a thread of their own. A checkpoint copies the WAL into the
 * database and fsyncs it; run inside a commit on the event loop (SQLite's default), that stalled
 * every call's audio for 10–50 ms every few seconds under load.
 */
import { Database } from "bun:sqlite";

declare const self: Worker;

interface Start {
  type: "start";
  path: string;
  intervalMs: number;
}

let db: Database | null = null;
let timer: ReturnType<typeof setInterval> | null = null;

function checkpoint(mode: "PASSIVE" | "TRUNCATE"): void {
  try {
    db?.query(`PRAGMA wal_checkpoint(${mode})`).get();
  } catch (err) {
    // Busy or locked: the next round will do it; a real fault is reported to the owner.
    if (!/busy|locked/i.test(String(err))) self.postMessage({ type: "error", message: String(err) });
  }
}

self.onmessage = (event: MessageEvent<Start | { type: "stop" }>) => {
  const msg = event.data;
  if (msg.type === "start") {
    db = new Database(msg.path);
    db.run("PRAGMA busy_timeout = 1000");
    timer = setInterval(() => checkpoint("PASSIVE"), msg.intervalMs);
    return;
  }
  if (timer !== null) clearInterval(timer);
  checkpoint("TRUNCATE");
  db?.close();
  db = null;
  self.postMessage({ type: "stopped" });
};
