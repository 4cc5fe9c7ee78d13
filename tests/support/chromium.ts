/**
 * Debian's real Chromium, headless, driven over CDP by puppeteer-core: the console's page tests.
 * Screenshots go to artifacts/screenshots/ (not committed) for a reviewer to look at. CHROMIUM_PATH
 * picks another build (tests/support/system-tools.ts).
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { requireTool } from "./system-tools.ts";

export const SCREENSHOTS = new URL("../../artifacts/screenshots/", import.meta.url).pathname;

export const DESKTOP = { width: 1280, height: 900 };
export const PHONE = { width: 390, height: 844, isMobile: true, hasTouch: true, deviceScaleFactor: 2 };

/** `fakeMic`: a WAV Chromium plays (looped) as the microphone, granted without asking. */
export async function launchChromium(options: { fakeMic?: string } = {}): Promise<Browser> {
  const args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--autoplay-policy=no-user-gesture-required", "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"];
  if (options.fakeMic !== undefined) args.push(`--use-file-for-fake-audio-capture=${options.fakeMic}`);
  return puppeteer.launch({ executablePath: requireTool("chromium"), headless: true, args });
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`) as `${string}.png`, fullPage: true });
}

/** The text of every element matching `selector`. */
export function texts(page: Page, selector: string): Promise<string[]> {
  return page.$$eval(selector, (els) => els.map((e) => e.textContent ?? ""));
}
