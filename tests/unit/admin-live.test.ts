import { afterEach, describe, expect, test } from "bun:test";
import { redact } from "../../src/admin/api-overview.ts";
import { CONSOLE_TOKEN, PBX_TOKEN, startConsoleServer, type ConsoleServer } from "../support/console-server.ts";
import { tempStores } from "../support/temp-stores.ts";

const stores = tempStores("voicebot-live-");
let server: ConsoleServer | null = null;
afterEach(async () => {
  await server?.admin.stop();
  server = null;
});

/** Reads SSE frames until one of `kind` arrives; returns every event name seen. */
async function until(reader: { read(): Promise<{ value?: Uint8Array; done: boolean }> }, kind: string, seen: string[]): Promise<Record<string, unknown>> {
  const decoder = new TextDecoder();
  let buffered = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the stream ended before a ${kind} event; saw ${seen.join(", ")}`);
    buffered += decoder.decode(value, { stream: true });
    let end = buffered.indexOf("\n\n");
    while (end >= 0) {
      const frame = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      const name = /^event: (.+)$/m.exec(frame)?.[1];
      const data = /^data: (.+)$/m.exec(frame)?.[1];
      if (name && data) {
        seen.push(name);
        if (name === kind) return JSON.parse(data) as Record<string, unknown>;
      }
      end = buffered.indexOf("\n\n");
    }
  }
}

describe("live calls", () => {
  test("the SSE stream pushes a call's start, its turns and its end as they are stored; /api/live lists it meanwhile", async () => {
    const store = stores.open(stores.tempDir());
    server = startConsoleServer(store);
    const res = await server.get("/api/live/events");
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    await reader.read(); // the opening comment: the stream is being followed from here on
    const seen: string[] = [];
    const id = store.insertCall({ uuid: "live-1", transport: "audiostream", tenant: "acme", caller: "0612345678", peer: "x", sampleRate: 16000, startedAt: Date.now() });
    expect(await until(reader, "call-started", seen)).toMatchObject({ callId: id, uuid: "live-1", tenant: "acme", caller: "0612345678", transport: "audiostream" });
    const live = (await (await server.get("/api/live")).json()) as { calls: Record<string, unknown>[] };
    expect(live.calls).toEqual([expect.objectContaining({ uuid: "live-1", state: "ringing", transport: "audiostream" })]);
    store.addEvent(id, { kind: "state", detail: "WELCOME->IDENTIFICATION", at: Date.now() });
    expect(await until(reader, "event", seen)).toMatchObject({ callId: id, event: "state", detail: "WELCOME->IDENTIFICATION" });
    expect(((await (await server.get("/api/live")).json()) as { calls: { state: string }[] }).calls[0]?.state).toBe("IDENTIFICATION");
    const turn = store.addTurn(id, { speaker: "bot", text: "", startedAt: Date.now() });
    store.setTurnText(turn, "Bonjour !");
    store.addTurn(id, { speaker: "caller", text: "Ma box", startedAt: Date.now() });
    store.endCall(id, { endedAt: Date.now(), reason: "resolved" });
    expect(await until(reader, "call-ended", seen)).toMatchObject({ callId: id, reason: "resolved" });
    expect(seen).toEqual(["call-started", "event", "turn", "turn", "call-ended"]);
    expect(((await (await server.get("/api/live")).json()) as { calls: unknown[] }).calls).toEqual([]);
    await reader.cancel();
  });

  test("hang-up: a live call by UUID; an unknown one is 404; GET is not allowed", async () => {
    server = startConsoleServer(stores.open(stores.tempDir()));
    expect((await server.send("POST", "/api/live/live-1/hangup")).status).toBe(200);
    expect(server.hungUp).toEqual(["live-1"]);
    expect((await server.send("POST", "/api/live/nobody/hangup")).status).toBe(404);
    expect((await server.get("/api/live/live-1/hangup")).status).toBe(405);
  });
});

describe("tenants and health", () => {
  test("tenants as loaded with each part's mode; health with its figures; no secret anywhere", async () => {
    server = startConsoleServer(stores.open(stores.tempDir()), { health: { status: "ok", ami: { host: "pbx", secret: "s3cret" }, providers: { groq: { state: "closed" } } } });
    const tenants = await (await server.get("/api/tenants")).text();
    expect(JSON.parse(tenants)).toEqual({ tenants: [expect.objectContaining({ id: "acme", transferTarget: "200@techs", modes: { stt: "deepgram", llm: "groq", tts: "keypad" } })] });
    const health = await (await server.get("/api/health")).text();
    expect(JSON.parse(health)).toMatchObject({ status: "ok", ami: { host: "pbx", secret: "(set)" }, providers: { groq: { state: "closed" } }, metrics: {} });
    for (const secret of ["s3cret", CONSOLE_TOKEN, PBX_TOKEN]) expect(tenants + health).not.toContain(secret);
  });

  test("redact: any field named like a key, token, secret or password, at any depth", () => {
    expect(redact({ deepgramApiKey: "k", nested: [{ adminToken: "t", password: "", name: "n" }], AMI_SECRET: null })).toEqual({
      deepgramApiKey: "(set)", nested: [{ adminToken: "(set)", password: null, name: "n" }], AMI_SECRET: null,
    });
  });
});
