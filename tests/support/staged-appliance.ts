/**
 * A staging root for `voicebot install --root` with the compiled binary, where the stand-in
 * systemctl does what systemd does: a start runs the installed binary's `serve` for real, a stop
 * waits for it to exit. stop() ends every service process it started, whatever the outcome.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createStandins, type Standins } from "./standins.ts";

export interface StagedAppliance {
  work: string;
  root: string;
  standins: Standins;
  /** The service's stdout and stderr so far (for failure messages). */
  serveLog(): string;
  stop(): Promise<void>;
}

/** A port free now, for a listener that starts later (the installed service's, a fake PBX's). */
export function freePort(): number {
  const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = server.port;
  server.stop(true);
  return port;
}

export function stageAppliance(name: string): StagedAppliance {
  const work = mkdtempSync(join(tmpdir(), `voicebot-${name}-`));
  const root = join(work, "root");
  mkdirSync(join(root, "etc"), { recursive: true });
  mkdirSync(join(root, "run/systemd/system"), { recursive: true });
  writeFileSync(join(root, "etc/os-release"), 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n');
  const pidFile = join(work, "serve.pid");
  const onStop = `[ -f ${pidFile} ] || exit 0; p=$(cat ${pidFile}); rm -f ${pidFile}; kill $p 2>/dev/null; while kill -0 $p 2>/dev/null; do sleep 0.1; done`;
  // setsid: a service is in no login session; one started by an install run on a terminal must not
  // get that terminal's hang-up when it closes.
  const onStart = `echo $$ > ${pidFile}; echo $$ >> ${join(work, "serve.pids")}; exec setsid ${root}/usr/local/bin/voicebot serve --config ${root}/etc/voicebot/voicebot.env --data-dir ${root}/var/lib/voicebot >> ${work}/serve.log 2>&1`;
  const standins = createStandins({ ufw: "inactive", onStart, onStop });

  // Still this staging root's binary (not a pid reused since it ended).
  const alive = (pid: number): boolean => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, "latin1").includes(root);
    } catch {
      return false;
    }
  };
  // As systemd does: SIGTERM, then SIGKILL after 10 s.
  const stopProcess = async (pid: number): Promise<void> => {
    if (!alive(pid)) return;
    process.kill(pid, "SIGTERM");
    for (let waited = 0; alive(pid) && waited < 10_000; waited += 100) await Bun.sleep(100);
    if (alive(pid)) process.kill(pid, "SIGKILL");
  };
  return {
    work,
    root,
    standins,
    serveLog: () => (existsSync(join(work, "serve.log")) ? readFileSync(join(work, "serve.log"), "utf8") : ""),
    async stop() {
      // A start while one runs leaves the first out of serve.pid: serve.pids has them all.
      const file = join(work, "serve.pids");
      const pids = existsSync(file) ? readFileSync(file, "utf8").split("\n").filter((l) => l !== "").map(Number) : [];
      await Promise.all(pids.map(stopProcess));
      standins.cleanup();
      rmSync(work, { recursive: true, force: true });
    },
  };
}
