/**
 * The System the installer runs on: the real machine (root "/"), a staging root (`--root DIR`), or
 * nothing at all (`--dry-run`, where every change is only listed).
 */
import { chmodSync, chownSync, closeSync, copyFileSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Change, CommandResult, FileSpec, System } from "./system.ts";

export interface SystemOptions {
  root: string;
  dryRun: boolean;
  say: (line: string) => void;
  env?: Record<string, string | undefined>;
}

export function createSystem(options: SystemOptions): System {
  return new HostSystem(options);
}

class HostSystem implements System {
  readonly root: string;
  readonly dryRun: boolean;
  readonly changes: Change[] = [];
  private readonly env: Record<string, string | undefined>;
  private readonly ids = new Map<string, number>();

  constructor(private readonly options: SystemOptions) {
    this.root = options.root;
    this.dryRun = options.dryRun;
    this.env = options.env ?? process.env;
  }

  path(target: string): string {
    if (!target.startsWith("/")) throw new Error(`install path ${JSON.stringify(target)} is not absolute`);
    return this.root === "/" ? target : join(this.root, target);
  }

  exists(target: string): boolean {
    return existsSync(this.path(target));
  }

  isEmptyDir(target: string): boolean {
    const path = this.path(target);
    try {
      const removed = new Set(this.changes.filter((c) => c.kind === "remove").map((c) => this.path(c.what)));
      return readdirSync(path).every((name) => removed.has(join(path, name)));
    } catch {
      return false;
    }
  }

  read(target: string): string | null {
    try {
      return readFileSync(this.path(target), "utf8");
    } catch {
      return null;
    }
  }

  write(target: string, content: string | Uint8Array, spec: FileSpec, secret = false): boolean {
    const bytes = typeof content === "string" ? Buffer.from(content) : Buffer.from(content);
    const path = this.path(target);
    if (this.sameFile(path, bytes, spec)) return false;
    this.record("write", `${target} (${describe(spec)})${secret ? " [secret: content not shown]" : ""}`);
    if (this.dryRun) return true;
    this.land(path, spec, (temp) => writeFileSync(temp, bytes, { mode: spec.mode }));
    return true;
  }

  mkdir(target: string, spec: FileSpec): void {
    const path = this.path(target);
    if (existsSync(path) && this.sameMeta(path, spec)) return;
    this.record("mkdir", `${target} (${describe(spec)})`);
    if (this.dryRun) return;
    mkdirSync(path, { recursive: true, mode: spec.mode });
    chmodSync(path, spec.mode);
    this.own(path, spec);
  }

  copyIn(source: string, target: string, spec: FileSpec): void {
    const path = this.path(target);
    this.record("copy", `${source} → ${target} (${describe(spec)})`);
    if (this.dryRun) return;
    this.land(path, spec, (temp) => copyFileSync(source, temp));
  }

  /**
   * The file is made under a temp name beside `path`, synced, given its mode and owner, then
   * renamed over `path`: a crash leaves the old file or the new one, never half of either.
   */
  private land(path: string, spec: FileSpec, make: (temp: string) => void): void {
    mkdirSync(dirname(path), { recursive: true });
    const temp = `${path}.voicebot-tmp`;
    make(temp);
    const fd = openSync(temp, "r+");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    chmodSync(temp, spec.mode);
    this.own(temp, spec);
    renameSync(temp, path);
  }

  rename(fromTarget: string, toTarget: string): void {
    this.record("rename", `${fromTarget} → ${toTarget}`);
    if (this.dryRun) return;
    renameSync(this.path(fromTarget), this.path(toTarget));
  }

  remove(target: string): void {
    const path = this.path(target);
    if (!existsSync(path)) return;
    this.record("remove", target);
    if (this.dryRun) return;
    rmSync(path, { recursive: true, force: true });
  }

  run(argv: readonly string[], options: { probe?: boolean; input?: string } = {}): CommandResult {
    if (!options.probe) {
      this.record("run", argv.join(" "));
      if (this.dryRun) return { code: 0, stdout: "", stderr: "" };
    }
    try {
      const proc = Bun.spawnSync([...argv], {
        env: this.env,
        stdin: options.input !== undefined ? Buffer.from(options.input) : "ignore",
        stdout: "pipe",
        stderr: "pipe",
      });
      return { code: proc.exitCode ?? 1, stdout: proc.stdout.toString(), stderr: proc.stderr.toString() };
    } catch (err) {
      // A command that is not installed: the caller decides whether that matters (ufw absent, say).
      return { code: 127, stdout: "", stderr: err instanceof Error ? err.message : String(err) };
    }
  }

  say(line: string): void {
    this.options.say(line);
  }

  private record(kind: Change["kind"], what: string): void {
    this.changes.push({ kind, what });
    if (this.dryRun) this.options.say(`would ${kind === "run" ? "run:" : kind} ${what}`);
  }

  private sameFile(path: string, bytes: Buffer, spec: FileSpec): boolean {
    if (!existsSync(path) || !this.sameMeta(path, spec)) return false;
    try {
      return readFileSync(path).equals(bytes);
    } catch {
      return false;
    }
  }

  private sameMeta(path: string, spec: FileSpec): boolean {
    const st = statSync(path);
    if ((st.mode & 0o7777) !== spec.mode) return false;
    if (!this.ownsForReal()) return true;
    // A dry run on a fresh host: the voicebot user does not exist yet, so the owner will change.
    const uid = spec.owner ? this.lookupId("passwd", spec.owner) : st.uid;
    const gid = spec.group ? this.lookupId("group", spec.group) : st.gid;
    return st.uid === uid && st.gid === gid;
  }

  /** Owners are only set on the real root as root: a staging root is packaged by someone who sets them. */
  private ownsForReal(): boolean {
    return this.root === "/" && process.getuid?.() === 0;
  }

  private own(path: string, spec: FileSpec): void {
    if (!this.ownsForReal() || (!spec.owner && !spec.group)) return;
    const st = statSync(path);
    chownSync(path, spec.owner ? this.id("passwd", spec.owner) : st.uid, spec.group ? this.id("group", spec.group) : st.gid);
  }

  private id(db: "passwd" | "group", name: string): number {
    const id = this.lookupId(db, name);
    if (id === null) throw new Error(`no ${db === "passwd" ? "user" : "group"} named ${name} on this machine (getent ${db} ${name} found nothing)`);
    return id;
  }

  private lookupId(db: "passwd" | "group", name: string): number | null {
    const key = `${db}:${name}`;
    const known = this.ids.get(key);
    if (known !== undefined) return known;
    const r = this.run(["getent", db, name], { probe: true });
    const id = Number(r.stdout.split(":")[2]);
    if (r.code !== 0 || r.stdout === "" || !Number.isInteger(id)) return null;
    this.ids.set(key, id);
    return id;
  }
}

function describe(spec: FileSpec): string {
  const mode = spec.mode.toString(8).padStart(4, "0");
  return spec.owner || spec.group ? `${mode} ${spec.owner ?? "root"}:${spec.group ?? spec.owner ?? "root"}` : mode;
}
