/**
 * The console in a real headless Chromium against dist/voicebot (AI mode, local provider fakes):
 * sign in, watch a live call appear and end, filter the history, open the call and play its
 * recording to the end, change its ticket's status, place a test call from the page with
 * Chromium's fake microphone and see its transcript, at desktop and phone sizes.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "puppeteer-core";
import { SimulatedCaller } from "../../src/simulate/caller.ts";
import type { CallResult } from "../../src/simulate/call-types.ts";
import { writeWav } from "../../src/simulate/wav.ts";
import { DESKTOP, PHONE, launchChromium, screenshot, texts } from "../support/chromium.ts";
import { startAiFakes, type AiFakes } from "./ai-fakes.ts";
import { E2E_TIMEOUT_MS, startServer, type RunningServer } from "./harness.ts";

const TOKEN = "console-e2e-token";
const CALLER = "0611223344";
const SAID = "Bonjour, je m'appelle Jean Dupont, ma box internet ne marche plus.";
/** What the fake microphone says: one word, no pause in it, so the recognizer hears one utterance (which it transcribes as SAID). */
const MIC = "Bonjour";

let fakes: AiFakes;
let server: RunningServer;
let browser: Browser;
let page: Page;
let micDir = "";

/**
 * What Chromium's fake microphone loops: quiet while the greeting plays, the words, then quiet long
 * enough for the bot's reply to be heard before the loop speaks again.
 */
function micWav(speech: Int16Array): string {
  micDir = mkdtempSync(join(tmpdir(), "voicebot-console-mic-"));
  const path = join(micDir, "mic.wav");
  const samples = new Int16Array(7 * 8000 + speech.length + 12 * 8000);
  samples.set(speech, 7 * 8000);
  writeWav(path, samples, 8000);
  return path;
}

beforeAll(async () => {
  fakes = await startAiFakes([SAID, MIC]);
  fakes.words = [SAID];
  server = await startServer({ ...fakes.env, ADMIN_TOKEN: TOKEN });
  browser = await launchChromium({ fakeMic: micWav(fakes.audio.get(MIC) as Int16Array) });
  page = await browser.newPage();
  await page.setViewport(DESKTOP);
}, E2E_TIMEOUT_MS);

afterAll(async () => {
  await browser?.close();
  rmSync(micDir, { recursive: true, force: true });
  expect(await server.stop()).toBe(0);
  await fakes.stop();
}, E2E_TIMEOUT_MS);

async function registerCaller(uuid: string): Promise<void> {
  const res = await fetch(`${server.http}/api/calls/${uuid}`, {
    method: "POST", headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" }, body: JSON.stringify({ caller: CALLER }),
  });
  expect(res.status).toBe(200);
}

let callId = 0;

describe("the console in Chromium", () => {
  test("sign-in: a wrong token is refused with a message, the right one opens the live view", async () => {
    await page.goto(server.http, { waitUntil: "networkidle0" });
    await page.waitForSelector("input[name=token]");
    await screenshot(page, "sign-in");
    await page.type("input[name=token]", "not-the-token");
    await page.click("button[type=submit]");
    await page.waitForSelector("[role=alert]");
    await page.$eval("input[name=token]", (el) => ((el as unknown as { value: string }).value = ""));
    await page.type("input[name=token]", TOKEN);
    await page.type("input[name=name]", "Léa");
    await page.click("button[type=submit]");
    await page.waitForSelector("[data-live-count]");
    expect((await texts(page, ".account span"))[0]).toBe("Léa");
  }, E2E_TIMEOUT_MS);

  test("live: a call appears with its transcript as it is spoken; the hang-up button ends it", async () => {
    const uuid = crypto.randomUUID();
    await registerCaller(uuid);
    const call: Promise<CallResult> = new SimulatedCaller({
      ...server.audiosocket, uuid, greetingTimeoutMs: 10_000,
      script: [{ say: fakes.audio.get(SAID) as Int16Array }, { hangupAfter: 60 }],
    }).run();
    await page.waitForSelector(".live-call[data-call-id]", { timeout: 15_000 });
    callId = Number(await page.$eval(".live-call", (el) => el.getAttribute("data-call-id")));
    await page.waitForFunction(`[...document.querySelectorAll(".live-call .transcript li.caller")].some((li) => li.textContent.includes(${JSON.stringify(SAID.slice(0, 20))}))`, { timeout: 20_000 });
    await screenshot(page, "live");
    await page.click(`.live-call[data-call-id="${callId}"] [data-hangup]`);
    await page.waitForSelector(`.live-call[data-call-id="${callId}"] [data-hangup].danger`);
    await page.click(`.live-call[data-call-id="${callId}"] [data-hangup]`);
    const result = await call;
    expect(result).toMatchObject({ connected: true, hungUpBy: "server" });
    await page.waitForSelector(`[data-ended] li[data-call-id="${callId}"]`, { timeout: 15_000 });
    expect(await texts(page, `[data-ended] li[data-call-id="${callId}"] .tag`)).toEqual(["console-hangup"]);
    expect(await page.$$(".live-call")).toHaveLength(0);
  }, E2E_TIMEOUT_MS);

  test("calls: the history filters by caller number and by words said", async () => {
    await page.goto(`${server.http}/#/calls`, { waitUntil: "networkidle0" });
    await page.waitForSelector(`[data-calls] tr[data-call-id="${callId}"]`);
    await page.type("input[name=caller]", "0699999999");
    await page.click("[data-filters] button[type=submit]");
    await page.waitForSelector("[data-empty]");
    await page.$eval("input[name=caller]", (el) => ((el as unknown as { value: string }).value = ""));
    await page.type("input[name=caller]", "06 11 22 33 44");
    await page.type("input[name=q]", "box marche");
    await page.click("[data-filters] button[type=submit]");
    await page.waitForFunction('location.hash.includes("q=box")');
    await page.waitForSelector(`[data-calls] tr[data-call-id="${callId}"]`);
    expect(await page.$$("[data-calls] tbody tr")).toHaveLength(1);
    await screenshot(page, "calls");
  }, E2E_TIMEOUT_MS);

  test("call: facts, waterfall, timeline, and the recording plays to its end", async () => {
    await page.click(`[data-calls] tr[data-call-id="${callId}"] a`);
    await page.waitForSelector("[data-call] audio[data-recording]", { timeout: 20_000 });
    expect((await texts(page, "[data-timeline] li.caller .text")).join(" ")).toContain("Jean Dupont");
    expect(await page.$$("[data-waterfall] g[data-turn]")).not.toHaveLength(0);
    await screenshot(page, "call");
    const ended = await page.$eval("audio[data-recording]", (audio) => new Promise<string>((resolve) => {
      const a = audio as unknown as { playbackRate: number; error: { code: number } | null; play(): Promise<void>; addEventListener(type: string, listener: () => void): void };
      a.addEventListener("ended", () => resolve("ended"));
      a.addEventListener("error", () => resolve(`error ${a.error?.code}`));
      a.playbackRate = 8;
      void a.play().catch((err: unknown) => resolve(`play failed: ${String(err)}`));
    }));
    expect(ended).toBe("ended");
  }, E2E_TIMEOUT_MS);

  test("ticket: the status is changed and the change is kept with who and when", async () => {
    const link = await page.$eval("[data-call] .facts a[href^='#/tickets/']", (a) => a.getAttribute("href"));
    await page.goto(`${server.http}/${link}`, { waitUntil: "networkidle0" });
    await page.waitForSelector("[data-ticket-edit]");
    await page.select("[data-ticket-edit] select[name=status]", "resolved");
    await page.type("[data-ticket-edit] input[name=assignee]", "Marc");
    await page.click("[data-ticket-edit] button[type=submit]");
    await page.waitForSelector("[data-changes] li");
    const changes = await texts(page, "[data-changes] li");
    expect(changes.some((c) => c.includes("Léa") && c.includes("resolved"))).toBe(true);
    await screenshot(page, "ticket");
    await page.goto(`${server.http}/#/tickets?status=resolved`, { waitUntil: "networkidle0" });
    await page.waitForSelector("[data-tickets] tbody tr");
    await screenshot(page, "tickets");
  }, E2E_TIMEOUT_MS);

  test("health: tenants, links, charts, and the providers checked on demand", async () => {
    await page.goto(`${server.http}/#/health`, { waitUntil: "networkidle0" });
    await page.waitForSelector("[data-health] [data-tenant]");
    await page.waitForFunction('document.querySelectorAll("[data-charts] .uplot").length === 4');
    expect(await texts(page, "[data-active-calls]")).toEqual(["0 / 20"]);
    await page.click("[data-check-providers]");
    await page.waitForSelector("[data-provider-check] tr[data-check='provider.deepgram']", { timeout: 15_000 });
    const checks = await texts(page, "[data-provider-check] tr");
    for (const id of ["deepgram", "llm.groq", "llm.openai", "tts"]) expect(checks.find((c) => c.startsWith(id)) ?? `${id}: no line`).toContain("PASS");
    await screenshot(page, "health");
  }, E2E_TIMEOUT_MS);

  test("try it: a test call from the page with the fake microphone, its transcript, the keypad, hang-up", async () => {
    await page.goto(`${server.http}/#/try`, { waitUntil: "load" });
    await page.waitForSelector("[data-try-start]:not([disabled])");
    await page.click("[data-try-start]");
    await page.waitForSelector("[data-try-phase=in-call]", { timeout: 15_000 });
    await page.waitForFunction(`[...document.querySelectorAll("[data-try-transcript] li.caller")].some((li) => li.textContent.includes("Jean Dupont"))`, { timeout: 30_000 });
    await page.waitForFunction(`(() => { const items = [...document.querySelectorAll("[data-try-transcript] li")]; const said = items.findIndex((li) => li.classList.contains("caller")); return items.slice(said + 1).some((li) => li.classList.contains("bot") && !li.textContent.includes("toujours là")); })()`, { timeout: 30_000 });
    await page.click("[data-keypad] button:nth-child(5)");
    await page.waitForFunction(`[...document.querySelectorAll("[data-try-transcript] li.event")].some((li) => li.textContent.includes("5"))`, { timeout: 10_000 });
    await screenshot(page, "try");
    await page.click("[data-try-hangup]");
    await page.waitForSelector("[data-try-phase=ended]", { timeout: 10_000 });
    await page.click("[data-try-call]");
    await page.waitForSelector("[data-call] .facts");
    expect((await texts(page, "[data-call] .facts dd")).some((v) => v.startsWith("browser · 16 kHz"))).toBe(true);
  }, E2E_TIMEOUT_MS);

  test("French: the switch translates the page and is kept across reloads", async () => {
    await page.goto(`${server.http}/#/calls`, { waitUntil: "load" });
    await page.waitForSelector("[data-nav=calls]");
    await page.click("[data-lang]");
    await page.waitForFunction('document.querySelector("[data-nav=calls]").textContent === "Appels"');
    await page.reload({ waitUntil: "load" });
    await page.waitForSelector(`[data-calls] tr[data-call-id="${callId}"]`);
    expect(await texts(page, "[data-calls] th")).toContain("Appelant");
    expect(await page.evaluate("document.documentElement.lang")).toBe("fr");
    await screenshot(page, "calls-fr");
    await page.click("[data-lang]");
    await page.waitForFunction('document.querySelector("[data-nav=calls]").textContent === "Calls"');
  }, E2E_TIMEOUT_MS);

  test("phone-sized screen: every view fits without sideways scrolling of the page", async () => {
    const phone = await browser.newPage();
    await phone.setViewport(PHONE);
    for (const view of ["live", "calls", `calls/${callId}`, "tickets", "health", "try"]) {
      await phone.goto(`${server.http}/#/${view}`, { waitUntil: "load" });
      await phone.waitForSelector("main h1");
      await phone.waitForNetworkIdle({ idleTime: 300, concurrency: 1 });
      const overflow = await phone.evaluate("document.documentElement.scrollWidth - window.innerWidth");
      expect({ view, overflow }).toEqual({ view, overflow: 0 });
      await screenshot(phone, `phone-${view.replaceAll("/", "-")}`);
    }
    await phone.close();
  }, E2E_TIMEOUT_MS);
});
