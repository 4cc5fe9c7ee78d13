/**
 * Progress of a long command: a bar redrawn in place on a terminal, or one plain line per 10 %
 * when the output goes to a file or a pipe (journald, CI logs), where redraws would be noise.
 */

/** Where progress goes (process.stderr in the CLI, so stdout stays clean for --json). */
export interface ProgressOutput {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

export interface ProgressOptions {
  /** Units of work, e.g. phrases × rates; at least 1. */
  total: number;
  /** What is counted, e.g. "phrases". */
  unit: string;
  /** Shown after the count, e.g. "8000, 16000 Hz". */
  detail: string;
  out: ProgressOutput;
  /** Milliseconds clock; injectable so tests get fixed elapsed times. */
  now?: () => number;
}

export interface Progress {
  update(done: number): void;
  /** Draws the final state and ends the line; later updates are ignored. */
  finish(): void;
}

const BAR_WIDTH = 24;
/** A terminal is redrawn at most this often, and at least this often so elapsed time keeps moving. */
const REDRAW_MS = 200;

export function createProgress(options: ProgressOptions): Progress {
  const { total, unit, detail, out } = options;
  if (!Number.isInteger(total) || total < 1) throw new RangeError(`progress: total ${total} is not allowed; use an integer of at least 1`);
  const now = options.now ?? (() => performance.now());
  const started = now();
  let done = 0;
  let finished = false;
  const elapsed = (): string => `${((now() - started) / 1000).toFixed(1)} s`;
  return out.isTTY ? terminalProgress() : lineProgress();

  function terminalProgress(): Progress {
    let drawnAt = -Infinity;
    const draw = (): void => {
      drawnAt = now();
      const filled = Math.floor((done / total) * BAR_WIDTH);
      const bar = "#".repeat(filled) + "-".repeat(BAR_WIDTH - filled);
      out.write(`\r\x1b[K[${bar}] ${done}/${total} ${unit} · ${detail} · ${elapsed()}`);
    };
    const timer = setInterval(draw, REDRAW_MS);
    timer.unref();
    draw();
    return {
      update(value) {
        if (finished) return;
        done = Math.min(total, Math.max(done, value));
        if (now() - drawnAt >= REDRAW_MS || done === total) draw();
      },
      finish() {
        if (finished) return;
        finished = true;
        clearInterval(timer);
        draw();
        out.write("\n");
      },
    };
  }

  function lineProgress(): Progress {
    let printedTenths = 0;
    const print = (): void => {
      out.write(`${unit} ${Math.floor((done / total) * 100)}% (${done}/${total}) · ${detail} · ${elapsed()}\n`);
    };
    return {
      update(value) {
        if (finished) return;
        done = Math.min(total, Math.max(done, value));
        const tenths = Math.floor((done * 10) / total);
        if (tenths > printedTenths) {
          printedTenths = tenths;
          print();
        }
      },
      finish() {
        finished = true;
      },
    };
  }
}
