/**
 * `bun scripts/reference-pacer.ts [--port N] [--seconds S]`: a control for `voicebot bench
 * --audiosocket`. It is an AudioSocket server that does nothing but pace: every call hears a tone
 * in 20 ms frames from a four-phase clock (as voicebot's), and is hung up after S seconds (default
 * 24, about a scripted bench call). No parsing beyond the first message, no recording, no store.
 *
 * Storm figures on a shared two-core host move with the host's load from one minute to the next;
 * run in the same minute, this says what the host and the bench client leave to any server.
 */
import type { Socket } from "bun";
import { parseArgs } from "node:util";

const FRAME_MS = 20;
const PHASES = 4;
const RATE = 8000;
const SAMPLES = (RATE * FRAME_MS) / 1000;

const { values } = parseArgs({ options: { port: { type: "string", default: "0" }, seconds: { type: "string", default: "24" } } });
const port = Number(values.port);
const frames = Math.round((Number(values.seconds) * 1000) / FRAME_MS);
if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port ${values.port}: use 0 to 65535`);
if (!(frames > 0)) throw new Error(`--seconds ${values.seconds}: use a positive number`);

/** One slin frame (kind 0x10, 320 bytes) of a 440 Hz tone: 20 ms holds whole periods, so it loops. */
const tone = new Uint8Array(3 + 2 * SAMPLES);
tone.set([0x10, (2 * SAMPLES) >> 8, (2 * SAMPLES) & 0xff]);
const samples = new DataView(tone.buffer, 3);
for (let i = 0; i < SAMPLES; i++) samples.setInt16(2 * i, Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / RATE)), true);
const HANGUP = new Uint8Array([0x00, 0x00, 0x00]);

interface Call {
  socket: Socket<Call>;
  sent: number;
  phase: Set<Call> | null;
}

const phases: Set<Call>[] = Array.from({ length: PHASES }, () => new Set<Call>());

const server = Bun.listen<Call>({
  hostname: "127.0.0.1",
  port,
  socket: {
    open(socket) {
      socket.data = { socket, sent: 0, phase: null };
    },
    data(socket) {
      const call = socket.data;
      if (call.phase !== null || call.sent > 0) return;
      call.phase = phases.reduce((least, p) => (p.size < least.size ? p : least));
      call.phase.add(call);
    },
    close(socket) {
      socket.data.phase?.delete(socket.data);
    },
  },
});
console.log(`reference pacer listening on 127.0.0.1:${server.port}`);

const start = performance.now();
let slot = 0;
function tick(): void {
  const due = Math.floor((performance.now() - start) / (FRAME_MS / PHASES));
  for (; slot <= due; slot++) {
    const phase = phases[slot % PHASES] as Set<Call>;
    for (const call of phase) {
      call.socket.write(tone);
      if (++call.sent < frames) continue;
      // The caller closes on the hang-up, as Asterisk does; the pacer only stops sending.
      call.socket.write(HANGUP);
      phase.delete(call);
      call.phase = null;
    }
  }
  setTimeout(tick, Math.max(0, start + slot * (FRAME_MS / PHASES) - performance.now()));
}
tick();
