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
    const close = quote === '"' || quote === "'" ? closingQuote(value, quote) : -1;
    if (close > 0 && /^\s*(#.*)?$/.test(value.slice(close + 1))) {
      value = value.slice(1, close);
      if (quote === '"') value = value.replace(/\\(["\\n])/g, (_, c: string) => (c === "n" ? "\n" : c));
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

/** Index of the quote closing `value`'s opening one; a backslash escapes it in double quotes. */
function closingQuote(value: string, quote: string): number {
  for (let i = 1; i < value.length; i++) {
    if (quote === '"' && value[i] === "\\") i++;
    else if (value[i] === quote) return i;
  }
  return -1;
}
