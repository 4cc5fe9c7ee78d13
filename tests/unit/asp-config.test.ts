/** ASP_HOST, ASP_PORT, --asp and ASP_TOKEN: defaults, precedence, and a bad value named in one line. */
import { describe, expect, test } from "bun:test";
import { loadConfig } from "../../src/config/load.ts";
import { configErrorOf as error } from "../support/config-error.ts";

describe("the ASP listener's settings", () => {
  test("default 127.0.0.1:8765 (the media server's own default port), no token", () => {
    const c = loadConfig({}, {});
    expect(c.asp).toEqual({ host: "127.0.0.1", port: 8765 });
    expect(c.aspToken).toBeNull();
  });

  test("--asp beats ASP_HOST/ASP_PORT; ASP_TOKEN is read", () => {
    const env = { ASP_HOST: "0.0.0.0", ASP_PORT: "9765", ASP_TOKEN: " s3cret " };
    expect(loadConfig({}, env).asp).toEqual({ host: "0.0.0.0", port: 9765 });
    expect(loadConfig({}, env).aspToken).toBe("s3cret");
    expect(loadConfig({ asp: "[::1]:0" }, env).asp).toEqual({ host: "::1", port: 0 });
  });

  test("a bad value stops start-up naming the variable, its value and what is allowed", () => {
    expect(error(() => loadConfig({}, { ASP_PORT: "70000" })).message).toBe('invalid configuration: ASP_PORT="70000" (environment): must be a whole number from 0 to 65535');
    expect(error(() => loadConfig({}, { ASP_HOST: "not a host" })).message).toBe('invalid configuration: ASP_HOST="not a host" (environment): must be an IP address or a host name');
    expect(error(() => loadConfig({ asp: "8765" }, {})).message).toContain('--asp="8765" (command line): must be HOST:PORT');
  });
});
