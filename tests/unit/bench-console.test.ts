import { afterEach, describe, expect, test } from "bun:test";
import { benchCommand } from "../../src/cli/bench.ts";
import { ConsoleWatch, formatConsoleFigures, type ConsoleFigures } from "../../src/cli/bench-console.ts";
import type { Store } from "../../src/store/store.ts";
import { CONSOLE_TOKEN, startConsoleServer, type ConsoleServer } from "../support/console-server.ts";
import { tempStores } from "../support/temp-stores.ts";

const stores = tempStores("voicebot-bench-console-");
let server: ConsoleServer | null = null;
afterEach(async () => {
  await server?.admin.stop();
  server = null;
});

/** Resolves once the live feed follows the store, i.e. the watch's event stream is open. */
function streamOpened(store: Store): Promise<void> {
  const observe = store.observe.bind(store);
  return new Promise((resolve) => {
    store.observe = (observer) => {
      observe(observer);
      if (observer !== null) resolve();
    };
  });
}

async function until(watch: ConsoleWatch, done: (f: ConsoleFigures) => boolean): Promise<void> {
  const deadline = performance.now() + 20_000;
  while (!done(watch.figures())) {
    if (performance.now() > deadline) throw new Error(`the console watch did not get there: ${JSON.stringify(watch.figures())}`);
    await Bun.sleep(10);
  }
}

describe("bench --console", () => {
  test("refused before anything starts with the modes that start no calls or no server of their own", async () => {
    for (const other of [["--mp3"], ["--cold-cache"], ["--audiosocket", "127.0.0.1:9092"], ["--fake-providers", "--fault", "stt-500"]]) {
      await expect(benchCommand.run(["--console", ...other])).rejects.toThrow(`--console opens the console of the server the bench starts, while its calls run: it does not go with ${other[0] === "--fake-providers" ? "--fault" : other[0]}`);
    }
  });

  test("signs in, reads every live event, polls the page's views and opens the call that just ended; reports no failure", async () => {
    const store = stores.open(stores.tempDir());
    server = startConsoleServer(store);
    const opened = streamOpened(store);
    const watch = await ConsoleWatch.start({ host: "127.0.0.1", port: server.admin.port }, CONSOLE_TOKEN, { pollMs: 10, openCallEvery: 2 });
    await opened;
    const id = store.insertCall({ uuid: "bench-1", transport: "audiosocket", tenant: "acme", caller: "0612345678", peer: "x", sampleRate: 8000, startedAt: Date.now() });
    store.addTurn(id, { speaker: "caller", text: "Ma box", startedAt: Date.now() });
    store.endCall(id, { endedAt: Date.now(), reason: "resolved" });
    await until(watch, (f) => f.eventsRead >= 3 && f.requests["/api/calls/{id}"].count >= 1);
    const figures = await watch.stop();
    expect(figures.events).toEqual({ "call-started": 1, turn: 1, "call-ended": 1 });
    expect(figures.failures).toEqual([]);
    expect(figures.failed).toBe(0);
    for (const route of ["/api/live", "/api/health", "/api/calls?limit=50"] as const) expect(figures.requests[route].count).toBeGreaterThanOrEqual(2);
    expect(figures.allRequests.count).toBe(Object.values(figures.requests).reduce((n, r) => n + r.count, 0));
    const text = formatConsoleFigures(figures).join("\n");
    expect(text).toContain("3 read from /api/live/events (1 call-started, 1 turn, 1 call-ended)");
    expect(text).not.toContain("console failed");
  });

  test("a wrong token stops the bench at sign-in, naming the refusal", async () => {
    server = startConsoleServer(stores.open(stores.tempDir()));
    await expect(ConsoleWatch.start({ host: "127.0.0.1", port: server.admin.port }, "wrong")).rejects.toThrow(/the console sign-in was refused: HTTP 401 unauthorized: wrong token/);
  });
});
