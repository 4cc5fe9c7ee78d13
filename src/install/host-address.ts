import { networkInterfaces } from "node:os";

/**
 * The address a PBX on the network most likely reaches this appliance at: the first IPv4 address
 * of a non-loopback interface. 127.0.0.1 when there is none (a PBX on this very host).
 */
export function detectHostAddress(): string {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const address of addresses ?? []) {
      if (address.family === "IPv4" && !address.internal) return address.address;
    }
  }
  return "127.0.0.1";
}
