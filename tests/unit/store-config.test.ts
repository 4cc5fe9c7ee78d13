import { describe, expect, test } from "bun:test";
import { hostname } from "node:os";
import { loadConfig } from "../../src/config/load.ts";
import { maskStoreUrl, parseStoreUrl } from "../../src/config/store-url.ts";
import { configErrorOf } from "../support/config-error.ts";

describe("STORE_URL", () => {
  test("unset, empty or sqlite: is the data dir's SQLite", () => {
    for (const env of [{}, { STORE_URL: "" }, { STORE_URL: "sqlite:" }, { VOICEBOT_STORE_URL: " sqlite: " }]) {
      expect(loadConfig({}, env).store).toEqual({ kind: "sqlite", path: null });
    }
  });

  test("postgres:// and postgresql:// URLs, with an optional sslmode", () => {
    expect(loadConfig({}, { STORE_URL: "postgres://vb:s3cret@db.example:5433/voicebot?sslmode=verify-full" }).store).toEqual({
      kind: "postgres",
      url: "postgres://vb:s3cret@db.example:5433/voicebot?sslmode=verify-full",
      shown: "postgres://vb:***@db.example:5433/voicebot?sslmode=verify-full",
      database: "voicebot",
      sslmode: "verify-full",
    });
    const t = parseStoreUrl("postgresql://vb@10.0.0.9/calls");
    expect(t).toMatchObject({ kind: "postgres", database: "calls", sslmode: null, shown: "postgresql://vb@10.0.0.9/calls" });
  });

  test("anything else stops start-up with one line naming the variable, the value without its password, and what is allowed", () => {
    const other = configErrorOf(() => loadConfig({}, { STORE_URL: "mysql://vb:pw@db/voicebot" }));
    expect(other.message).toBe(
      'invalid configuration: STORE_URL="mysql://vb:***@db/voicebot" (environment): must be sqlite: (the default: the data dir\'s voicebot.db) or postgres://USER:PASSWORD@HOST[:PORT]/DATABASE with an optional ?sslmode= of disable, allow, prefer, require, verify-ca, verify-full',
    );
    const cases: [string, RegExp][] = [
      ["postgres://vb:pw@db.example:5432/", /names no database/],
      ["postgres://db.example/voicebot", /names no user/],
      ["postgres://vb:pw@db.example/voicebot?sslmode=strict", /sslmode must be one of disable, allow, prefer, require, verify-ca, verify-full/],
      ["postgres://vb:pw@db.example/voicebot?application_name=x", /only \?sslmode=/],
      ["postgres://vb:pw@db.example:99999/voicebot", /is not a URL/],
      ["sqlite:/var/lib/other.db", /takes no path here/],
    ];
    for (const [value, why] of cases) {
      const err = configErrorOf(() => loadConfig({}, { STORE_URL: value }));
      expect(err.variable).toBe("STORE_URL");
      expect(err.message).toMatch(why);
      expect(err.message).not.toContain(":pw@");
    }
  });

  test("masking leaves URLs without a password alone", () => {
    expect(maskStoreUrl("postgres://vb:p%40ss@h/db")).toBe("postgres://vb:***@h/db");
    expect(maskStoreUrl("postgres://vb@h/db")).toBe("postgres://vb@h/db");
    expect(maskStoreUrl("sqlite:")).toBe("sqlite:");
  });
});

describe("NODE_ID and NODE_URL", () => {
  test("defaults: the host name, and http://PUBLIC_HOST:HTTP_PORT (else the admin listener's own address, else the host name)", () => {
    const plain = loadConfig({}, {});
    expect(plain.nodeId).toBe(hostname());
    expect(plain.nodeUrl).toBe(`http://${hostname()}:9091`);
    expect(loadConfig({}, { PUBLIC_HOST: "192.0.2.10", HTTP_PORT: "8080" }).nodeUrl).toBe("http://192.0.2.10:8080");
    expect(loadConfig({}, { HTTP_HOST: "10.1.2.3" }).nodeUrl).toBe("http://10.1.2.3:9091");
    expect(loadConfig({ http: "[2001:db8::5]:9000" }, {}).nodeUrl).toBe("http://[2001:db8::5]:9000");
  });

  test("given ones are checked", () => {
    const c = loadConfig({}, { NODE_ID: "voicebot-2.paris_1", NODE_URL: "https://vb2.example:9443/" });
    expect([c.nodeId, c.nodeUrl]).toEqual(["voicebot-2.paris_1", "https://vb2.example:9443"]);
    expect(configErrorOf(() => loadConfig({}, { NODE_ID: "node one" })).message).toBe(
      'invalid configuration: NODE_ID="node one" (environment): must be 1-100 letters, digits and . _ - (unique among the appliances sharing a store)',
    );
    for (const bad of ["ftp://vb2:21", "vb2:9091", "http://u:p@vb2:9091", "http://vb2:9091/?x=1"]) {
      expect(configErrorOf(() => loadConfig({}, { NODE_URL: bad })).variable).toBe("NODE_URL");
    }
  });
});
