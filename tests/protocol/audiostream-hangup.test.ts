/** The mod_audio_stream server ending calls: with and without ESL, a failing handler, and stop(). */
import { afterEach, describe, expect, test } from "bun:test";
import { captureLogLines, waitFor } from "../support/log-capture.ts";
import { bytesOf, call, closeAll, open, start, tone } from "../support/audiostream-harness.ts";

const lines = captureLogLines();
const logged = (text: string): string[] => lines.filter((line) => line.includes(text));
afterEach(closeAll);

describe("hang-up and shutdown", () => {
  test("with ESL: uuid_kill, then FreeSWITCH's close → server-hangup", async () => {
    const h = start();
    const { peer, record, leg } = await call(h, "/stream/acme/c1");
    leg.hangup();
    await waitFor("uuid_kill", () => h.control.calls.includes("hangup c1"));
    expect(record.closes).toEqual([]);
    expect(leg.sendAudio(tone(20, 16000, 0.2))).toBe(false);
    peer.ws.close(1000, "Normal closure");
    await waitFor("close", () => record.closes.length === 1);
    expect(record.closes[0]!.reason).toBe("server-hangup");
  });

  test("with ESL but no close from FreeSWITCH within 2 s (voxcom deadlock) → we close it; same after CHANNEL_HANGUP", async () => {
    const h = start();
    const [killed, hungUp] = [await call(h, "/stream/acme/c1"), await call(h, "/stream/acme/c2")];
    killed.leg.hangup();
    h.control.listeners.get("c2")!.onHangup();
    await waitFor("both closed", () => killed.peer.closed !== null && hungUp.peer.closed !== null, 4000);
    expect(killed.record.closes).toEqual([{ reason: "server-hangup", detail: expect.stringContaining("uuid_kill") }]);
    expect(hungUp.record.closes).toEqual([{ reason: "caller-hangup", detail: expect.stringContaining("CHANNEL_HANGUP") }]);
  });

  test("without ESL: close 1000 at once, and a warning that FreeSWITCH keeps the call parked", async () => {
    const { peer, record, leg } = await call(start({}, null), "/stream/acme/c1");
    leg.hangup();
    expect(record.closes[0]!.reason).toBe("server-hangup");
    await waitFor("close", () => peer.closed !== null);
    expect(peer.closed!.code).toBe(1000);
    expect(logged("keeps the call parked")).toHaveLength(1);
  });

  test("a call handler that throws: internal-error (not server-hangup), its FreeSWITCH call killed, close 1011", async () => {
    const closes: unknown[] = [];
    const exploding = (): never => {
      throw new Error("dialog exploded");
    };
    const h = start({ admit: () => ({ onAudio: exploding, onDtmf: () => {}, onRateChange: () => {}, onClose: (reason, detail) => void closes.push({ reason, detail }) }) });
    const peer = await open(h.url("/stream/acme/c9"));
    peer.ws.send("{}");
    peer.ws.send(bytesOf(new Int16Array(320)));
    await waitFor("close", () => peer.closed !== null);
    expect([peer.closed!.code, closes, h.control.calls.includes("hangup c9")]).toEqual([1011, [{ reason: "internal-error", detail: "dialog exploded" }], true]);
  });

  test("stop(): every leg ends with shutdown, its FreeSWITCH call is killed, and the streams close 1001", async () => {
    const h = start();
    const peers = [(await call(h, "/stream/acme/c1")).peer, (await call(h, "/stream/acme/c2")).peer, (await call(h, "/stream/acme/c3")).peer];
    expect(h.server.activeConnections).toBe(3);
    await h.server.stop();
    expect(h.legs.map((r) => r.closes.map((c) => c.reason))).toEqual([["shutdown"], ["shutdown"], ["shutdown"]]);
    expect(h.control.calls.filter((c) => c.startsWith("hangup"))).toEqual(["hangup c1", "hangup c2", "hangup c3"]);
    await waitFor("closed", () => peers.every((p) => p.closed !== null));
    expect(peers.map((p) => p.closed!.code)).toEqual([1001, 1001, 1001]);
    expect(h.server.activeConnections).toBe(0);
  });
});
