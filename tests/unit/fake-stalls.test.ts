import { afterAll, describe, expect, test } from "bun:test";
import { createFakeChat } from "../fakes/chat.ts";
import { startFakeHttp } from "../fakes/http.ts";
import { createFakeSpeech } from "../fakes/speech.ts";

/**
 * The stall modes of the chat and speech fakes, read raw off the wire: what a client really gets
 * before the stream stops (the SDK-level behaviour is covered in llm, reply and openai-tts tests).
 */
const chat = createFakeChat({ apiKey: "k", brain: () => ({ text: "Un deux trois quatre." }) });
const speech = createFakeSpeech({ apiKey: "k" });
const http = startFakeHttp([chat, speech]);
afterAll(() => http.stop());

/** Long enough, on a loaded machine, for any byte the fake was going to send to have arrived. */
const QUIET_MS = 300;

/** What the body gives until it goes quiet for QUIET_MS (then the request is aborted). */
async function readUntilQuiet(path: string, body: object): Promise<{ status: number; text: string; bytes: number }> {
  const abort = new AbortController();
  const res = await fetch(`${http.url}${path}`, { method: "POST", signal: abort.signal, headers: { authorization: "Bearer k", "content-type": "application/json" }, body: JSON.stringify(body) });
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const chunks: Uint8Array[] = [];
  for (;;) {
    const next = await Promise.race([reader.read(), Bun.sleep(QUIET_MS).then(() => null)]);
    if (next === null || next.done) break;
    chunks.push(next.value);
  }
  abort.abort();
  const all = Buffer.concat(chunks);
  return { status: res.status, text: all.toString("utf8"), bytes: all.length };
}

const ask = (content: string) => ({ model: "m", stream: true, messages: [{ role: "user", content }] });
const say = (input: string) => ({ model: "gpt-4o-mini-tts", voice: "alloy", input, response_format: "pcm" });

describe("fake stalls", () => {
  test("chat: a stall before the first token, after some tokens, and chosen per request", async () => {
    chat.failNext({ kind: "stall" });
    chat.failNext({ kind: "stall", afterChunks: 3 });
    const before = await readUntilQuiet("/v1/chat/completions", ask("a"));
    expect(before.text.match(/^data: /gm)?.length).toBe(1);
    expect(before.text).not.toContain("Un");
    const after = await readUntilQuiet("/v1/chat/completions", ask("b"));
    expect(after.text.match(/^data: /gm)?.length).toBe(3);
    expect(after.text).toContain("deux");
    expect(after.text).not.toContain("[DONE]");
    chat.failAll((request) => (request.messages.some((m) => m.content === "stall me") ? { kind: "stall" } : null));
    expect((await readUntilQuiet("/v1/chat/completions", ask("fine"))).text).toContain("[DONE]");
    expect((await readUntilQuiet("/v1/chat/completions", ask("stall me"))).text).not.toContain("[DONE]");
    chat.failAll(null);
  });

  test("speech: headers then no audio, no headers at all, bytes stopping mid-stream, chosen per request", async () => {
    speech.failNext({ kind: "stall", afterBytes: 1 });
    const headersOnly = await readUntilQuiet("/v1/audio/speech", say("Bonjour."));
    expect(headersOnly.status).toBe(200);
    expect(headersOnly.bytes).toBe(1);
    speech.failNext({ kind: "stall", afterBytes: 4800 });
    expect((await readUntilQuiet("/v1/audio/speech", say("Bonjour, comment allez-vous aujourd'hui ?"))).bytes).toBe(4800);
    speech.failNext({ kind: "stall" });
    const gone = new AbortController();
    const pending = fetch(`${http.url}/v1/audio/speech`, { method: "POST", signal: gone.signal, headers: { authorization: "Bearer k" }, body: JSON.stringify(say("x")) }).catch(() => "aborted");
    expect(await Promise.race([pending, Bun.sleep(QUIET_MS).then(() => "no headers")])).toBe("no headers");
    gone.abort();
    expect(await pending).toBe("aborted");
    speech.failAlways((request) => (request.input.includes("Zoé") ? { kind: "status", status: 500 } : null));
    expect((await readUntilQuiet("/v1/audio/speech", say("Bonjour Zoé."))).status).toBe(500);
    expect((await readUntilQuiet("/v1/audio/speech", say("Bonjour Léa."))).bytes).toBe(speech.pcmFor("Bonjour Léa.").byteLength);
    speech.failAlways(null);
  });
});
