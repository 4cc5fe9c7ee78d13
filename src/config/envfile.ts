import { readFileSync } from "node:fs";

/**
 * Reads a KEY=VALUE env file as systemd's EnvironmentFile and the seeds' `.env` write it:
 * `#` comments, optional `export `, single or double quotes. We parse it ourselves (rather than
 * letting Bun load `.env`) because the file is named by --config and must work the same in the
 * compiled binary, wherever the working directory is.
 */
export function parseEnvFile(text: string, path: string): Map<string, string> {
  const out = new Map<string, string>();
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] ?? "").trim();
    if (line === "" || line.startsWith("#")) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!m) throw new Error(`${path}:${i + 1}: expected KEY=VALUE, got ${JSON.stringify(line)}`);
    const key = m[1] as string;
    let value = m[2] as string;
    const quote = value[0];
    if ((quote === '"' || quote === "'") && value.length >= 2 && value.endsWith(quote)) {
      value = value.slice(1, -1);
      if (quote === '"') value = value.replace(/\\n/g, "\n").replace(/\\"/g, '"').replace(/\\\\/g, "\\");
    } else {
      value = value.replace(/\s+#.*$/, "");
    }
    out.set(key, value);
  }
  return out;
}

export function readEnvFile(path: string): Map<string, string> {
  return parseEnvFile(readFileSync(path, "utf8"), path);
}
