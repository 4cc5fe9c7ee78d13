/**
 * The console's history page in headless Chromium: for each filter, the time from the address
 * change to its page of calls in the table and painted (the next animation frame), as a desk lead
 * would wait for it. Used by console-api-bench.ts --browser.
 */
import puppeteer from "puppeteer-core";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/**
 * Runs in the page: change the hash, then look once a frame (after its paint: a timer set in the
 * frame's callback runs once it is drawn) until the table shows the new page.
 */
const RENDER = `async (hash) => {
  const table = () => document.querySelector("[data-calls]");
  const before = Number(table()?.dataset.loads ?? -1);
  const t0 = performance.now();
  location.hash = hash;
  do await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
  while (Number(table()?.dataset.loads ?? -1) === before);
  return { ms: performance.now() - t0, rows: document.querySelectorAll("[data-calls] tbody tr").length };
}`;

export async function timePageRenders(base: string, token: string, queries: readonly string[], runs: number): Promise<void> {
  const browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"] });
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 900 });
    await page.goto(base, { waitUntil: "load" });
    await page.waitForSelector("input[name=token]");
    await page.type("input[name=token]", token);
    await page.click("button[type=submit]");
    await page.waitForSelector("[data-live-count]");
    await page.goto(`${base}/#/calls`, { waitUntil: "load" });
    await page.waitForSelector("[data-calls]");
    console.log("\nChromium, address change → 50 rows painted\nfilters | rows | median ms | p95 ms | max ms");
    for (const q of queries) {
      const times: number[] = [];
      let rows = 0;
      for (let r = 0; r < runs; r++) {
        // Each run is a real change of page: from a caller with no call to the filter timed.
        await page.evaluate(`(${RENDER})(${JSON.stringify("#/calls?caller=0")})`);
        const result = (await page.evaluate(`(${RENDER})(${JSON.stringify(q === "" ? "#/calls" : `#/calls?${q}`)})`)) as { ms: number; rows: number };
        times.push(result.ms);
        rows = result.rows;
      }
      times.sort((a, b) => a - b);
      const at = (p: number): string => (times[Math.min(times.length - 1, Math.floor(p * times.length))] as number).toFixed(1);
      console.log(`${q === "" ? "(none)" : q} | ${rows} | ${at(0.5)} | ${at(0.95)} | ${at(1)}`);
    }
  } finally {
    await browser.close();
  }
}
