/**
 * `voicebot store copy` on the compiled binary: an appliance's SQLite history copied into a
 * throw-away PostgreSQL, then read back with `calls list` and `tickets list` on STORE_URL; a second
 * run copies nothing; a wrong target is a usage error, an unreachable one one line and exit 1.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Store } from "../../src/store/store.ts";
import { pgClusterForFile } from "../support/pg-cluster.ts";
import { fillStore } from "../support/store-fill.ts";
import { E2E_TIMEOUT_MS, runCli } from "./harness.ts";

const pg = pgClusterForFile();
const dir = mkdtempSync(join(tmpdir(), "voicebot-e2e-store-copy-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("voicebot store copy", () => {
  test("copies a SQLite store into PostgreSQL, which calls and tickets then read; a second run copies nothing", async () => {
    fillStore(dir);
    const sqlite = Store.open(dir, { readonly: true });
    const calls = sqlite.listCalls({ limit: 100 });
    const tickets = sqlite.listTickets({ limit: 100 });
    sqlite.close();
    const url = await pg.database();

    const copied = await runCli(["store", "copy", "--from", `sqlite:${dir}`, "--to", url, "--json", "--data-dir", dir]);
    expect(copied.stderr).toContain("calls 100% (15/15)");
    expect(copied.stderr).not.toContain("voicebot-test-password");
    expect(copied.code).toBe(0);
    const report = JSON.parse(copied.stdout) as { calls: unknown; ids: string; to: string };
    expect(report.calls).toEqual({ total: 15, copied: 15, alreadyThere: 0, finished: 0 });
    expect(report.ids).toBe("keep");
    expect(report.to).not.toContain("voicebot-test-password");

    const listed = await runCli(["calls", "list", "--json", "--limit", "100"], { STORE_URL: url });
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.stdout)).toEqual(JSON.parse(JSON.stringify(calls)));
    const ticketList = await runCli(["tickets", "list", "--json", "--limit", "100"], { STORE_URL: url });
    expect(JSON.parse(ticketList.stdout)).toEqual(JSON.parse(JSON.stringify(tickets)));

    const again = await runCli(["store", "copy", "--from", `sqlite:${dir}/voicebot.db`, "--data-dir", dir], { STORE_URL: url });
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("copied 0 of 15 calls (15 already there)");
  }, E2E_TIMEOUT_MS);

  test("a target that is not PostgreSQL, a source that is not SQLite or a bad node is a usage error; one that cannot be reached, one line and exit 1", async () => {
    const sqliteTarget = await runCli(["store", "copy", "--from", `sqlite:${dir}`, "--to", "sqlite:", "--data-dir", dir]);
    expect(sqliteTarget.code).toBe(2);
    expect(sqliteTarget.stderr).toContain("--to \"sqlite:\" is not allowed: a postgres://USER:PASSWORD@HOST[:PORT]/DATABASE URL");

    const fromPg = await runCli(["store", "copy", "--from", "postgres://u:pw@h/db", "--to", "postgres://u:pw@h/db", "--data-dir", dir]);
    expect(fromPg.code).toBe(2);
    expect(fromPg.stderr).toContain("--from \"postgres://u:***@h/db\" is not allowed: must be sqlite:PATH");
    const badNode = await runCli(["store", "copy", "--node", "no spaces", "--to", "postgres://u:pw@h/db", "--data-dir", dir]);
    expect(badNode.code).toBe(2);
    expect(badNode.stderr).toContain("--node=\"no spaces\" (command line): must be 1-100 letters");

    const probe = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const port = probe.port;
    probe.stop(true);
    const away = await runCli(["store", "copy", "--from", `sqlite:${dir}`, "--to", `postgres://voicebot:secret@127.0.0.1:${port}/voicebot`, "--data-dir", dir]);
    expect(away.code).toBe(1);
    expect(away.stderr.trim().split("\n")).toHaveLength(1);
    expect(away.stderr).toContain("cannot be reached");
    expect(away.stderr).not.toContain("secret");
  }, E2E_TIMEOUT_MS);
});
