import { PassThrough, Writable } from "node:stream";

/** A terminal for @clack/prompts: keys typed in, what it draws collected. */
export function terminal(keys: string[]) {
  const input = Object.assign(new PassThrough(), { isTTY: true, setRawMode: () => undefined });
  let drawn = "";
  const output = Object.assign(new Writable({ write(chunk, _e, done) { drawn += String(chunk); done(); } }), { columns: 100, rows: 40 });
  let i = 0;
  const timer = setInterval(() => {
    if (i < keys.length) input.write(keys[i++] as string);
  }, 30);
  return { input, output, drawn: () => drawn, stop: () => clearInterval(timer) };
}
