import { describe, expect, test } from "bun:test";
import { parseAllowList } from "../../src/transports/allowlist.ts";

describe("parseAllowList", () => {
  test("an empty spec allows everyone", () => {
    for (const spec of ["", "   ", " , "]) {
      const list = parseAllowList(spec);
      expect(list.empty).toBe(true);
      expect(list.allows("203.0.113.9")).toBe(true);
      expect(list.allows("2001:db8::1")).toBe(true);
      expect(list.toString()).toBe("any address");
    }
  });

  test("IPv4 addresses and CIDRs, whitespace tolerated", () => {
    const list = parseAllowList(" 192.0.2.10 ,10.0.0.0/8,172.16.5.0/22 ");
    expect(list.empty).toBe(false);
    for (const ip of ["192.0.2.10", "10.0.0.1", "10.255.255.255", "172.16.4.1", "172.16.7.254"]) expect(list.allows(ip)).toBe(true);
    for (const ip of ["192.0.2.11", "11.0.0.1", "172.16.8.1", "172.16.3.255", "::1", "not-an-ip", ""]) expect(list.allows(ip)).toBe(false);
    expect(list.toString()).toBe("192.0.2.10,10.0.0.0/8,172.16.5.0/22");
  });

  test("IPv4-mapped IPv6 peers match IPv4 entries", () => {
    const list = parseAllowList("10.0.0.0/8,127.0.0.1");
    expect(list.allows("::ffff:10.1.2.3")).toBe(true);
    expect(list.allows("::FFFF:127.0.0.1")).toBe(true);
    expect(list.allows("::ffff:127.0.0.2")).toBe(false);
    expect(list.allows("::ffff:a01:203")).toBe(true);
  });

  test("IPv6 addresses and CIDRs", () => {
    const list = parseAllowList("2001:db8::/32, ::1, fe80::1234:5678:9abc:def0/128");
    expect(list.allows("2001:db8:ffff::42")).toBe(true);
    expect(list.allows("2001:0DB8:0000:0000:0000:0000:0000:0001")).toBe(true);
    expect(list.allows("2001:db9::1")).toBe(false);
    expect(list.allows("::1")).toBe(true);
    expect(list.allows("0:0:0:0:0:0:0:1")).toBe(true);
    expect(list.allows("::2")).toBe(false);
    expect(list.allows("fe80::1234:5678:9abc:def0%eth0")).toBe(true);
    expect(list.allows("127.0.0.1")).toBe(false);
  });

  test("prefix edge cases: /0 allows all of a family, host bits are ignored", () => {
    expect(parseAllowList("0.0.0.0/0").allows("198.51.100.1")).toBe(true);
    expect(parseAllowList("0.0.0.0/0").allows("2001:db8::1")).toBe(false);
    expect(parseAllowList("::/0").allows("2001:db8::1")).toBe(true);
    expect(parseAllowList("10.1.2.3/8").allows("10.200.0.1")).toBe(true);
    expect(parseAllowList("10.0.0.128/25").allows("10.0.0.127")).toBe(false);
    expect(parseAllowList("::ffff:10.0.0.0/104").allows("10.9.9.9")).toBe(true);
  });

  test("a bad entry is named, with an example of what is allowed", () => {
    for (const entry of ["10.0.0", "10.0.0.256", "010.0.0.1", "10.0.0.0/33", "10.0.0.0/", "10.0.0.0/x", "::1/129", "1:::2",
      "1:2:3:4:5:6:7:8:9", "1::2::3", "12345::", "g::1", "localhost", "10.0.0.1-10.0.0.9", "[::1]"]) {
      expect(() => parseAllowList(`192.0.2.1, ${entry}`)).toThrow(
        `'${entry}' is not an IP address or CIDR (e.g. 192.0.2.10 or 192.0.2.0/24)`,
      );
    }
  });
});
