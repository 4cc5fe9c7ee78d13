/**
 * A stand-in for what real PBXes do to the caller's audio, between a simulated Asterisk and voicebot:
 * the caller's AudioSocket audio is re-cut into frames of other sizes (1-1000 samples, mixed within
 * the call, as Playback() tails, 30-60 ms SIP packets and transcoding produce), or re-encoded as
 * μ-law labelled 0x10 (`Dial(AudioSocket/…/c(ulaw))`) ending on a short odd frame before the
 * caller's hang-up. Everything else passes through as it is, both ways.
 */
import type { Socket, TCPSocketListener } from "bun";
import { AudioSocketParser, Kind, encodeMessage, isAudioKind } from "../../src/transports/audiosocket-codec.ts";

export type Recut =
  /** Frames of these sample counts, in turn (the audio's order and samples kept; the tail goes at hang-up). */
  | { sizes: readonly number[] }
  /** Each frame as μ-law (one byte a sample), then a last frame of `tailBytes` before the caller's close. */
  | { mulawTailBytes: number };

export interface ReframingProxy {
  readonly port: number;
  /** Caller samples that reached voicebot, and the size of every audio message sent. */
  readonly samplesForwarded: number;
  readonly messageSizes: number[];
  stop(): void;
}

/** A socket end that keeps what the peer could not take yet. */
class Pipe {
  private readonly queue: Uint8Array[] = [];
  private endWhenDrained = false;

  constructor(private socket: Socket<unknown> | null) {}

  attach(socket: Socket<unknown>): void {
    this.socket = socket;
    this.drain();
  }

  write(bytes: Uint8Array): void {
    this.queue.push(bytes);
    this.drain();
  }

  end(): void {
    this.endWhenDrained = true;
    this.drain();
  }

  drain(): void {
    const socket = this.socket;
    if (socket === null) return;
    while (this.queue.length > 0) {
      const head = this.queue[0] as Uint8Array;
      const written = socket.write(head);
      if (written < head.length) {
        if (written > 0) this.queue[0] = head.subarray(written);
        return;
      }
      this.queue.shift();
    }
    if (this.endWhenDrained) socket.end();
  }
}

function linearToMulaw(sample: number): number {
  const BIAS = 0x84;
  let s = Math.max(-32635, Math.min(32635, sample));
  const sign = s < 0 ? 0x80 : 0;
  if (s < 0) s = -s;
  s += BIAS;
  let exponent = 7;
  for (let mask = 0x4000; (s & mask) === 0 && exponent > 0; mask >>= 1) exponent--;
  const mantissa = (s >> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

interface Connection {
  upstream: Pipe;
  downstream: Pipe;
  /** Caller samples (s16le bytes) not sent yet, and the kind they came with. */
  pending: number[];
  kind: number;
  next: number;
  parser: AudioSocketParser | null;
  closed: boolean;
}

export async function startReframingProxy(target: { host: string; port: number }, recut: Recut): Promise<ReframingProxy> {
  let samplesForwarded = 0;
  const messageSizes: number[] = [];

  function sendAudio(c: Connection, samples: number): void {
    const bytes = c.pending.splice(0, samples * 2);
    let payload = Uint8Array.from(bytes);
    if ("mulawTailBytes" in recut) {
      payload = new Uint8Array(samples);
      for (let i = 0; i < samples; i++) payload[i] = linearToMulaw(((bytes[2 * i]! | (bytes[2 * i + 1]! << 8)) << 16) >> 16);
    }
    samplesForwarded += samples;
    messageSizes.push(samples);
    c.upstream.write(encodeMessage(c.kind, payload));
  }

  function onCallerMessage(c: Connection, kind: number, payload: Uint8Array): void {
    if (!isAudioKind(kind)) {
      c.upstream.write(encodeMessage(kind, payload.slice()));
      return;
    }
    c.kind = kind;
    for (const byte of payload) c.pending.push(byte);
    if ("mulawTailBytes" in recut) return sendAudio(c, c.pending.length / 2);
    for (;;) {
      const size = recut.sizes[c.next % recut.sizes.length] as number;
      if (c.pending.length < size * 2) return;
      c.next++;
      sendAudio(c, size);
    }
  }

  function onCallerClosed(c: Connection): void {
    if (c.closed) return;
    c.closed = true;
    if ("mulawTailBytes" in recut) {
      c.pending = Array<number>(recut.mulawTailBytes * 2).fill(0);
      c.kind = Kind.Slin8;
      sendAudio(c, recut.mulawTailBytes);
    } else if (c.pending.length > 0) {
      sendAudio(c, c.pending.length / 2);
    }
    c.upstream.end();
  }

  const listener: TCPSocketListener<Connection> = Bun.listen<Connection>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      async open(caller) {
        const c: Connection = {
          upstream: new Pipe(null), downstream: new Pipe(caller as Socket<unknown>), pending: [], kind: Kind.Slin8, next: 0, parser: null, closed: false,
        };
        c.parser = new AudioSocketParser((kind, payload) => onCallerMessage(c, kind, payload));
        caller.data = c;
        const server = await Bun.connect({
          hostname: target.host, port: target.port,
          socket: {
            data: (_s, bytes) => c.downstream.write(bytes.slice()),
            drain: () => c.upstream.drain(),
            close: () => c.downstream.end(),
            error: () => c.downstream.end(),
          },
        });
        c.upstream.attach(server as Socket<unknown>);
      },
      data(caller, bytes) {
        caller.data.parser?.push(bytes);
      },
      drain: (caller) => caller.data.downstream.drain(),
      close: (caller) => onCallerClosed(caller.data),
      error: (caller) => onCallerClosed(caller.data),
    },
  });
  return {
    port: listener.port,
    get samplesForwarded() {
      return samplesForwarded;
    },
    messageSizes,
    stop: () => listener.stop(true),
  };
}
