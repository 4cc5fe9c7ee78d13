/**
 * The SimulatedCaller against a tiny AudioSocket peer written here (not the real server): the
 * peer checks what a PBX must send, and scripts what a server might answer.
 */
import { describe, expect, test } from "bun:test";
import type { Socket, TCPSocketListener } from "bun";
import { SimulatedCaller, simulatedPbxClock } from "../../src/simulate/caller.ts";
import {
  AudioSocketParser,
  encodeMessage,
  HANGUP_MESSAGE,
  Kind,
  uuidToString,
  writeAudioMessage,
} from "../../src/transports/audiosocket-codec.ts";

interface Heard {
  messages: { kind: number; length: number; nonZero: boolean }[];
  uuid: string | null;
  digits: string;
  closedByCaller: boolean;
}

interface PeerScript {
  /** Called once per received message; may write to the socket. */
  onMessage?(socket: Socket<Heard>, kind: number, payload: Uint8Array, heard: Heard): void;
  /** Called after the UUID: start sending. */
  onUuid?(socket: Socket<Heard>, heard: Heard): void;
}

function startPeer(script: PeerScript): { server: TCPSocketListener<Heard>; calls: Heard[]; closed: Promise<Heard> } {
  const calls: Heard[] = [];
  let closedResolve: (h: Heard) => void = () => {};
  const closed = new Promise<Heard>((resolve) => (closedResolve = resolve));
  const parsers = new WeakMap<Socket<Heard>, AudioSocketParser>();
  const server = Bun.listen<Heard>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(socket) {
        socket.setNoDelay(true);
        socket.data = { messages: [], uuid: null, digits: "", closedByCaller: false };
        calls.push(socket.data);
        parsers.set(socket, new AudioSocketParser((kind, payload) => {
          const heard = socket.data;
          heard.messages.push({ kind, length: payload.length, nonZero: payload.some((b) => b !== 0) });
          if (kind === Kind.Uuid) {
            heard.uuid = uuidToString(payload);
            script.onUuid?.(socket, heard);
          }
          if (kind === Kind.Dtmf) heard.digits += String.fromCharCode(payload[0] as number);
          script.onMessage?.(socket, kind, payload, heard);
        }));
      },
      data(socket, chunk) {
        parsers.get(socket)?.push(chunk);
      },
      close(socket) {
        socket.data.closedByCaller = true;
        closedResolve(socket.data);
      },
    },
  });
  return { server, calls, closed };
}

/** Sends `frames` (then silence) every 20 ms by deadline until stopped, as a paced server does. */
function pacedSender(socket: Socket<Heard>, frames: Int16Array[]): { stop(): void } {
  const buffer = new Uint8Array(3 + 320);
  const silence = new Int16Array(160);
  const start = performance.now();
  let sent = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const send = (): void => {
    while (performance.now() >= start + sent * 20) {
      const n = writeAudioMessage(buffer, Kind.Slin8, frames[sent] ?? silence);
      if (socket.write(buffer, 0, n) < 0) return;
      sent++;
    }
    timer = setTimeout(send, start + sent * 20 - performance.now());
  };
  send();
  return { stop: () => clearTimeout(timer) };
}

function tone(seconds: number, rate = 8000, hz = 440): Int16Array[] {
  const frames: Int16Array[] = [];
  const per = rate / 50;
  for (let f = 0; f < seconds * 50; f++) {
    frames.push(Int16Array.from({ length: per }, (_, i) => Math.round(8000 * Math.sin((2 * Math.PI * hz * (f * per + i)) / rate))));
  }
  return frames;
}

describe("SimulatedCaller over loopback", () => {
  test("hears a paced 1 s tone, sends its digits in order when the peer goes quiet, and is hung up on", async () => {
    let sender: { stop(): void } | null = null;
    const peer = startPeer({
      onUuid: (socket) => (sender = pacedSender(socket, tone(1))),
      onMessage: (socket, kind, _payload, heard) => {
        if (kind === Kind.Dtmf && heard.digits.endsWith("#")) {
          sender?.stop();
          socket.write(HANGUP_MESSAGE);
        }
      },
    });
    try {
      const uuid = "0000000a-0000-4000-8000-000000000a01";
      const caller = new SimulatedCaller({
        host: "127.0.0.1",
        port: peer.server.port,
        uuid,
        script: [{ dtmf: "5", at: 0.3 }, { dtmf: "1#" }, { hangupAfter: 20 }],
        record: true,
      });
      const result = await caller.run();
      const heard = await peer.closed;

      expect(result.error).toBeNull();
      expect(result.connected).toBe(true);
      expect(result.hungUpBy).toBe("server");
      expect(result.serverSentHangup).toBe(true);
      expect(result.greetingDelayMs).not.toBeNull();
      expect(result.greetingDelayMs as number).toBeGreaterThanOrEqual(0);
      expect(result.utterances.length).toBe(1);
      expect(result.frames).toBeGreaterThanOrEqual(50);
      expect(result.jitterMs.length).toBe(result.frames - 1);
      expect(result.digitsSent).toBe("51#");
      expect(result.actions.map((a) => ("dtmf" in a ? a.dtmf : "say"))).toEqual(["5", "1", "#"]);
      // The untimed digits wait for the tone to end; '#' follows '1' by the 250 ms digit gap or more.
      const [, one, hash] = result.actions;
      expect(one!.atMs).toBeGreaterThan(result.utterances[0]!.startMs + result.utterances[0]!.durationMs);
      expect(hash!.atMs - one!.atMs).toBeGreaterThanOrEqual(250);
      expect(caller.recording().length).toBe(result.frames * 160);

      // What the peer saw is what Asterisk sends: UUID first, 20 ms slin frames, one 0x03 per digit.
      expect(heard.uuid).toBe(uuid);
      expect(heard.messages[0]).toEqual({ kind: Kind.Uuid, length: 16, nonZero: true });
      expect(heard.digits).toBe("51#");
      const dtmf = heard.messages.filter((m) => m.kind === Kind.Dtmf);
      expect(dtmf.every((m) => m.length === 1)).toBe(true);
      const audio = heard.messages.filter((m) => m.kind !== Kind.Uuid && m.kind !== Kind.Dtmf);
      expect(audio.length).toBeGreaterThan(10);
      expect(audio.every((m) => m.kind === Kind.Slin8 && m.length === 320 && !m.nonZero)).toBe(true);
    } finally {
      peer.server.stop(true);
    }
  });

  test("at 16 kHz it sends kind 0x12; it plays caller audio and hangs up with a plain close", async () => {
    let sender: { stop(): void } | null = null;
    const peer = startPeer({ onUuid: (socket) => (sender = pacedSender(socket, [])) });
    try {
      const say = Int16Array.from({ length: 3200 }, (_, i) => (i % 2 === 0 ? 4000 : -4000));
      const result = await new SimulatedCaller({
        host: "127.0.0.1",
        port: peer.server.port,
        sampleRate: 16000,
        script: [{ say, at: 0.1 }, { hangupAfter: 0.6 }],
      }).run();
      const heard = await peer.closed;
      expect(result.hungUpBy).toBe("caller");
      expect(result.error).toBeNull();
      expect(result.greetingDelayMs).toBeNull();
      expect(result.actions).toEqual([{ atMs: expect.any(Number), sayMs: 200 }]);
      expect(heard.closedByCaller).toBe(true);
      expect(heard.messages.some((m) => m.kind === Kind.Hangup)).toBe(false);
      const audio = heard.messages.filter((m) => m.kind !== Kind.Uuid);
      expect(audio.every((m) => m.kind === Kind.Slin16 && m.length === 640)).toBe(true);
      expect(audio.filter((m) => m.nonZero).length).toBe(10);
    } finally {
      sender!.stop();
      peer.server.stop(true);
    }
  });

  test("a kind the PBX would reject ends the call as an error", async () => {
    const peer = startPeer({ onUuid: (socket) => socket.write(encodeMessage(Kind.Dtmf, new Uint8Array([0x35]))) });
    try {
      const result = await new SimulatedCaller({ host: "127.0.0.1", port: peer.server.port }).run();
      expect(result.hungUpBy).toBe("error");
      expect(result.error).toContain("server sent kind 0x03");
    } finally {
      peer.server.stop(true);
    }
  });

  test("a server that stops sending frames is hung up on like Asterisk does", async () => {
    const peer = startPeer({});
    try {
      const result = await new SimulatedCaller({ host: "127.0.0.1", port: peer.server.port, idleTimeoutMs: 200 }).run();
      expect(result.hungUpBy).toBe("error");
      expect(result.error).toContain("sent no frame for 200 ms");
      expect((await peer.closed).closedByCaller).toBe(true);
    } finally {
      peer.server.stop(true);
    }
  });

  test("a stall of the caller's own process is not taken for a silent server", async () => {
    // A server in another process (the reference pacer) goes on sending while this one is stopped.
    const pacer = Bun.spawn([process.execPath, "scripts/reference-pacer.ts", "--port", "0", "--seconds", "4"], {
      cwd: new URL("../..", import.meta.url).pathname, stdout: "pipe", stderr: "inherit",
    });
    try {
      const reader = pacer.stdout.getReader();
      const first = new TextDecoder().decode((await reader.read()).value);
      const port = Number(/127\.0\.0\.1:(\d+)/.exec(first)?.[1]);
      const running = new SimulatedCaller({ host: "127.0.0.1", port, idleTimeoutMs: 2000 }).run();
      await Bun.sleep(1000);
      Bun.sleepSync(2500);
      const result = await running;
      expect(result.error).toBeNull();
      expect(result.hungUpBy).toBe("server");
    } finally {
      pacer.kill();
    }
  });

  test("calls sharing one clock each keep their own timeline", async () => {
    const senders: { stop(): void }[] = [];
    const peer = startPeer({
      onUuid: (socket) => senders.push(pacedSender(socket, tone(0.2))),
      onMessage: (socket, kind) => kind === Kind.Dtmf && socket.write(HANGUP_MESSAGE),
    });
    try {
      const clock = simulatedPbxClock();
      const results = await Promise.all(
        [1, 2, 3].map((n) => new SimulatedCaller({ host: "127.0.0.1", port: peer.server.port, clock, script: [{ dtmf: String(n) }] }).run()),
      );
      expect(results.map((r) => [r.hungUpBy, r.digitsSent])).toEqual([["server", "1"], ["server", "2"], ["server", "3"]]);
      expect(peer.calls.map((c) => c.digits).sort()).toEqual(["1", "2", "3"]);
      expect(clock.size).toBe(0);
    } finally {
      for (const s of senders) s.stop();
      peer.server.stop(true);
    }
  });

  test("a server that closes at once (as an allow-list does) hung up without 00 00 00", async () => {
    const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { open: (socket) => void socket.end(), data() {} } });
    try {
      const clock = simulatedPbxClock();
      const result = await new SimulatedCaller({ host: "127.0.0.1", port: server.port, clock }).run();
      expect(result.connected).toBe(true);
      expect(result.hungUpBy).toBe("server");
      expect(result.serverSentHangup).toBe(false);
      expect(clock.size).toBe(0);
    } finally {
      server.stop(true);
    }
  });

  test("a refused connection names the address", async () => {
    const peer = startPeer({});
    const port = peer.server.port;
    peer.server.stop(true);
    const result = await new SimulatedCaller({ host: "127.0.0.1", port }).run();
    expect(result.connected).toBe(false);
    expect(result.hungUpBy).toBe("error");
    expect(result.error).toContain(`cannot connect to 127.0.0.1:${port}`);
  });
});
