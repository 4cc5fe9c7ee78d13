import { setPriority } from "node:os";

/** Low enough that the event loop always wins a core, high enough that a worker never falls behind for long. */
const WORKER_NICE = 10;

/**
 * For a worker whose work matters less than call audio (disk writes, rows): when the cores are
 * contended, this thread, and the kernel work its writes cause, gives way to the event loop.
 * Linux keeps the nice value per thread, so this lowers only the calling thread; elsewhere it
 * would lower the whole process, so there it does nothing.
 */
export function giveWayToEventLoop(): void {
  if (process.platform !== "linux") return;
  try {
    setPriority(WORKER_NICE);
  } catch {
    // A sandbox may refuse it; the work is the same, only less polite.
  }
}
