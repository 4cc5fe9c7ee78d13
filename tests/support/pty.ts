/**
 * A command run on a pseudo-terminal, as an admin runs it: util-linux `script` (always on Debian)
 * gives it a real tty, so interactive prompts draw and read keys exactly as they do over SSH. The
 * test waits for each question's words, then types, instead of typing on a timer.
 */
import type { Subprocess } from "bun";
import { requireTool } from "./system-tools.ts";

export interface PtySession {
  /** Everything drawn so far, with the terminal's escape sequences removed. */
  screen(): string;
  /** Waits until `text` appears after what earlier waits consumed; throws with the screen when it does not. */
  waitFor(text: string, timeoutMs?: number): Promise<void>;
  type(keys: string): void;
  /** The command's exit code (script -e passes it through). */
  readonly exited: Promise<number>;
  kill(): void;
}

export const KEY = { enter: "\r", down: "\x1b[B", ctrlC: "\x03" } as const;

// CSI and OSC sequences, then the cursor-save/restore and charset ones clack and script emit.
const ESCAPES = /\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07]*\x07|\x1b[()][0-9A-B]|\x1b[78=>]/g;

function shellQuote(arg: string): string {
  return `'${arg.replace(/'/g, "'\\''")}'`;
}

export function runOnPty(argv: readonly string[], env: Record<string, string | undefined>): PtySession {
  // script's pty takes its size from script's own stdin, a pipe here (0 × 0): give it an SSH window's.
  const command = `stty cols 120 rows 50 && exec ${argv.map(shellQuote).join(" ")}`;
  const proc: Subprocess<"pipe", "pipe", "pipe"> = Bun.spawn([requireTool("script"), "-qfec", command, "/dev/null"], {
    env: { ...env, TERM: "xterm-256color" }, stdin: "pipe", stdout: "pipe", stderr: "pipe",
  });
  let raw = "";
  let consumed = 0;
  const decoder = new TextDecoder();
  const pump = (async () => {
    for await (const chunk of proc.stdout) raw += decoder.decode(chunk, { stream: true });
  })();
  const screen = () => raw.replace(ESCAPES, "");
  return {
    screen,
    async waitFor(text, timeoutMs = 20_000) {
      for (let waited = 0; waited < timeoutMs; waited += 50) {
        const at = screen().indexOf(text, consumed);
        if (at >= 0) {
          consumed = at + text.length;
          return;
        }
        await Bun.sleep(50);
      }
      throw new Error(`"${text}" never appeared on the terminal; it shows:\n${screen().slice(-3000)}`);
    },
    type(keys) {
      proc.stdin.write(keys);
      proc.stdin.flush();
    },
    exited: proc.exited.then(async (code) => {
      await pump;
      return code;
    }),
    kill() {
      proc.kill();
    },
  };
}
