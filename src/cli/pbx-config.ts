/**
 * `voicebot pbx-config asterisk|freeswitch|3cx`: the PBX configuration for this appliance (its
 * address, ports, tokens and tenants), printed or written under --out, with what to paste where.
 */
import { chmod, mkdir, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { loadConfig } from "../config/load.ts";
import { parsePbxNode } from "../config/pbx-nodes.ts";
import type { PbxNode, PbxNodeOrder } from "../config/schema.ts";
import { loadTenants } from "../config/tenants.ts";
import { detectHostAddress } from "../install/host-address.ts";
import { PBX_KINDS, PbxConfigError, renderPbxConfig, type PbxKind, type PbxRendering } from "../install/pbx-render.ts";
import { parseCommandArgs, printJson, UsageError, type Command } from "./command.ts";

const USAGE = `Usage: voicebot pbx-config asterisk|freeswitch|3cx [--out DIR] [--config FILE] [--host ADDR]
                          [--node HOST[:PORT]]... [--order in-turn|round-robin] [--json]

Renders the configuration the PBX needs to send its calls to this voicebot, from voicebot's own
settings (ports, PBX_TOKEN (else ADMIN_TOKEN), AUDIOSTREAM_TOKEN, AMI_*, ESL_*) and tenants, and says where each
piece goes.

Kinds:
  asterisk     extensions_voicebot.conf: one context per tenant, extension 777 (register the call,
               AudioSocket, then what voicebot says comes next); manager_voicebot.conf: a
               least-privilege AMI user for hand-offs
  freeswitch   the dialplan XML (extension 8000: uuid_audio_stream … mono, then park), the Lua
               script for FusionPBX, event_socket.conf.xml and the ACL it names
  3cx          a checklist for 3CX → FreeSWITCH → voicebot, and the FreeSWITCH files it needs

Each kind also gets <asterisk|freeswitch>/apply-on-pbx.sh (mode 0700: it holds the secrets), one
script holding all of its files: copied to the PBX host and run as root (sudo sh apply-on-pbx.sh),
it checks the PBX's version and modules, backs up, installs, adds the include lines once, reloads
and verifies; run again it changes nothing; --undo reverts (see its --help).

Options:
  --out DIR       write the files under DIR (created if missing; files holding a secret get mode
                  0640, the script 0700) and print the steps
  --config FILE   env file to read     VOICEBOT_CONFIG (default /etc/voicebot/voicebot.env if present)
  --host ADDR     the IPv4 address the PBX reaches voicebot at   PUBLIC_HOST
                  (default: this host's first non-loopback IPv4 address)
  --node HOST[:PORT]
                  an appliance the dialplan spreads calls over; repeat it for each, in the order
                  they are tried (default PBX_NODES; none = this appliance only). PORT is that
                  appliance's AudioSocket port (asterisk) or AUDIOSTREAM_PORT (freeswitch) when it
                  differs from this one's; every appliance's admin port is HTTP_PORT. An appliance
                  that refuses (full, WHEN_FULL=refuse) or cannot be reached passes the call to the
                  next; when none takes it the caller hears the PBX's "all circuits busy"
  --order ORDER   in-turn (every call tries the list from the first) or round-robin (each call
                  starts one further)   PBX_NODE_ORDER (default in-turn)
  --json          one JSON document {files, steps, warnings, script} on stdout
  --help          this text

Without --out each file is printed after a "# ---- <path>" line, then the steps. Warnings go to stderr.`;

function parseKind(positionals: string[]): PbxKind {
  const [kind, ...rest] = positionals;
  if (kind === undefined) throw new UsageError(`missing PBX kind: ${PBX_KINDS.join(", ")} (see --help)`);
  const known = PBX_KINDS.find((k) => k === kind);
  if (known === undefined) throw new UsageError(`unknown PBX kind ${JSON.stringify(kind)}: ${PBX_KINDS.join(", ")} (see --help)`);
  if (rest.length > 0) throw new UsageError(`pbx-config takes one PBX kind, got also ${JSON.stringify(rest[0])} (see --help)`);
  return known;
}

function parseNodes(given: string[] | undefined): PbxNode[] | undefined {
  if (given === undefined || given.length === 0) return undefined;
  const nodes: PbxNode[] = [];
  for (const text of given) {
    const node = parsePbxNode(text);
    if (typeof node === "string") throw new UsageError(`--node ${node} (see --help)`);
    if (nodes.some((n) => n.host === node.host && n.port === node.port)) throw new UsageError(`--node ${JSON.stringify(text)} is given twice (see --help)`);
    nodes.push(node);
  }
  return nodes;
}

function parseOrder(given: string | undefined): PbxNodeOrder | undefined {
  if (given === undefined) return undefined;
  if (given === "in-turn" || given === "round-robin") return given;
  throw new UsageError(`--order ${JSON.stringify(given)}: in-turn or round-robin (see --help)`);
}

function numbered(steps: string[]): string {
  return steps.map((step, i) => `${i + 1}. ${step}`).join("\n");
}

async function writeFiles(out: string, rendering: PbxRendering): Promise<string[]> {
  const lines: string[] = [];
  for (const file of rendering.files) {
    const path = join(out, file.path);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, file.content, { mode: file.mode });
    // writeFile's mode applies only to a new file: a file rendered before keeps its old one otherwise.
    await chmod(path, file.mode);
    lines.push(`  ${file.path} (${file.mode.toString(8).padStart(4, "0")})`);
  }
  return lines;
}

export const pbxConfigCommand: Command = {
  name: "pbx-config",
  summary: "render the Asterisk, FreeSWITCH or 3CX configuration for this voicebot (asterisk | freeswitch | 3cx)",
  async run(argv) {
    const parsed = parseCommandArgs(argv, {
      out: { type: "string" },
      config: { type: "string" },
      host: { type: "string" },
      node: { type: "string", multiple: true },
      order: { type: "string" },
      json: { type: "boolean" },
    }, USAGE, true);
    if (!parsed) return 0;
    const { values, positionals } = parsed;
    const kind = parseKind(positionals);
    const nodes = parseNodes(values.node);
    const order = parseOrder(values.order);
    if (values.out !== undefined && values.out.trim() === "") throw new UsageError("--out needs a directory (see --help)");
    const config = loadConfig({ config: values.config });
    const tenants = loadTenants(config);
    const host = values.host?.trim() || config.publicHost || detectHostAddress();
    let rendering: PbxRendering;
    try {
      rendering = renderPbxConfig(kind, { host, config, tenants, ...(nodes === undefined ? {} : { nodes }), ...(order === undefined ? {} : { order }) });
    } catch (err) {
      if (!(err instanceof PbxConfigError)) throw err;
      process.stderr.write(`voicebot pbx-config: ${err.message}\n`);
      return 2;
    }

    const out = values.out === undefined ? null : resolve(values.out);
    const written = out === null ? [] : await writeFiles(out, rendering);
    if (values.json) {
      printJson({ files: rendering.files, steps: rendering.steps, warnings: rendering.warnings, script: rendering.script });
      return 0;
    }
    for (const warning of rendering.warnings) process.stderr.write(`warning: ${warning}\n`);
    if (out === null) {
      for (const file of rendering.files) process.stdout.write(`# ---- ${file.path}\n${file.content.endsWith("\n") ? file.content : `${file.content}\n`}\n`);
      process.stdout.write(`# ---- steps\n${numbered(rendering.steps)}\n`);
    } else {
      process.stdout.write(`Wrote ${written.length} files under ${out}:\n${written.join("\n")}\n\nSteps (paths are relative to ${out}):\n${numbered(rendering.steps)}\n`);
    }
    return 0;
  },
};
