/**
 * `AUDIOSOCKET_ALLOW`: which peers may open an AudioSocket connection. AudioSocket has no
 * authentication of its own, so an address filter is the only gate in front of the call layer.
 * Every address is held as 16 bytes (IPv4 as ::ffff:a.b.c.d), so IPv4 entries also match the
 * IPv4-mapped form a dual-stack listener reports.
 */

export interface AllowList {
  readonly empty: boolean;
  allows(ip: string): boolean;
  toString(): string;
}

interface Range {
  readonly address: Uint8Array;
  readonly prefixBits: number;
  readonly text: string;
}

const V4_MAPPED_PREFIX = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];

function parseIPv4(text: string): number[] | null {
  const parts = text.split(".");
  if (parts.length !== 4) return null;
  const bytes: number[] = [];
  for (const part of parts) {
    // Leading zeros are refused: some tools read them as octal, so "010" is ambiguous.
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part)) return null;
    const value = Number(part);
    if (value > 255) return null;
    bytes.push(value);
  }
  return bytes;
}

function parseGroups(text: string): number[] | null {
  if (text === "") return [];
  const groups: number[] = [];
  for (const group of text.split(":")) {
    if (!/^[0-9a-f]{1,4}$/i.test(group)) return null;
    groups.push(parseInt(group, 16));
  }
  return groups;
}

function parseIPv6(input: string): Uint8Array | null {
  let text = input;
  let tailV4: number[] = [];
  const lastColon = text.lastIndexOf(":");
  if (text.includes(".")) {
    const v4 = parseIPv4(text.slice(lastColon + 1));
    if (v4 === null) return null;
    tailV4 = v4;
    // Keep the colon when the IPv4 part directly follows "::".
    text = text.slice(0, text[lastColon - 1] === ":" ? lastColon + 1 : lastColon);
  }
  const wantGroups = 8 - tailV4.length / 2;
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const head = parseGroups(halves[0]!);
  const tail = halves.length === 2 ? parseGroups(halves[1]!) : [];
  if (head === null || tail === null) return null;
  const zeros = wantGroups - head.length - tail.length;
  if (halves.length === 2 ? zeros < 1 : zeros !== 0) return null;
  const groups = [...head, ...new Array<number>(zeros).fill(0), ...tail];
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => {
    bytes[i * 2] = g >> 8;
    bytes[i * 2 + 1] = g & 0xff;
  });
  bytes.set(tailV4, 12);
  return bytes;
}

/** 16-byte form of an address, or null. `isV4` tells how a prefix length is to be read. */
function parseAddress(text: string): { bytes: Uint8Array; isV4: boolean } | null {
  const v4 = parseIPv4(text);
  if (v4 !== null) return { bytes: new Uint8Array([...V4_MAPPED_PREFIX, ...v4]), isV4: true };
  const v6 = text.includes(":") ? parseIPv6(text) : null;
  return v6 === null ? null : { bytes: v6, isV4: false };
}

function parseEntry(entry: string): Range {
  const invalid = new Error(`'${entry}' is not an IP address or CIDR (e.g. 192.0.2.10 or 192.0.2.0/24)`);
  const slash = entry.indexOf("/");
  const address = parseAddress(slash < 0 ? entry : entry.slice(0, slash));
  if (address === null) throw invalid;
  const maxBits = address.isV4 ? 32 : 128;
  let bits = maxBits;
  if (slash >= 0) {
    const prefix = entry.slice(slash + 1);
    if (!/^[0-9]{1,3}$/.test(prefix) || Number(prefix) > maxBits) throw invalid;
    bits = Number(prefix);
  }
  return { address: address.bytes, prefixBits: bits + (address.isV4 ? 96 : 0), text: entry };
}

function inRange(range: Range, ip: Uint8Array): boolean {
  let bits = range.prefixBits;
  for (let i = 0; i < 16 && bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((range.address[i]! & mask) !== (ip[i]! & mask)) return false;
  }
  return true;
}

/** Comma-separated addresses and CIDRs; an empty spec allows every peer. */
export function parseAllowList(spec: string): AllowList {
  const ranges = spec
    .split(",")
    .map((entry) => entry.trim())
    .filter((entry) => entry !== "")
    .map(parseEntry);
  return {
    empty: ranges.length === 0,
    allows(ip: string): boolean {
      if (ranges.length === 0) return true;
      // A scoped IPv6 peer (fe80::1%eth0) is matched on its address alone.
      const zone = ip.indexOf("%");
      const peer = parseAddress(zone < 0 ? ip : ip.slice(0, zone));
      return peer !== null && ranges.some((range) => inRange(range, peer.bytes));
    },
    toString(): string {
      return ranges.length === 0 ? "any address" : ranges.map((range) => range.text).join(",");
    },
  };
}
