/**
 * The live view: GET /api/live (calls in progress), GET /api/live/events (Server-Sent Events: call
 * start and end, events such as transfers and DTMF, and transcript turns, as the store writes
 * them), POST /api/live/{uuid}/hangup. A store write costs one string built once and queued to
 * each open stream; nothing runs per audio frame, and with no stream open the store's observer
 * is removed altogether.
 */
import type { CallWriter, StoreChange, StoreReader } from "../store/store.ts";
import { json, problem } from "./api-params.ts";

/** Hangs up a live call by UUID; false when none has it. */
export type HangupCall = (uuid: string) => boolean;

const HEARTBEAT_MS = 15_000;
const MAX_STREAMS = 50;
/** Frames a stream may hold unread before it is dropped. */
const MAX_QUEUED = 2000;

export class LiveFeed {
  private readonly streams = new Set<ReadableStreamDefaultController<string>>();
  private heartbeat: ReturnType<typeof setInterval> | null = null;
  private readonly encoder = (change: StoreChange): void => {
    const frame = `event: ${change.kind}\ndata: ${JSON.stringify(change)}\n\n`;
    this.send(frame);
  };

  constructor(private readonly writer: Pick<CallWriter, "observe">, private readonly reader: StoreReader, private readonly hangupCall: HangupCall | null) {}

  async list(): Promise<Response> {
    const calls = await this.reader.liveCalls();
    const now = Date.now();
    return json({
      calls: calls.map((c) => ({
        id: c.id, uuid: c.uuid, caller: c.caller, dnis: c.dnis ?? null, tenant: c.tenant, transport: c.transport,
        state: c.state ?? (c.answeredAt === null ? "ringing" : "talking"), ticketId: c.ticketId,
        startedAt: c.startedAt, durationMs: now - c.startedAt,
      })),
    });
  }

  hangup(uuid: string): Response {
    if (this.hangupCall === null) return problem(503, "this server takes no calls: nothing to hang up");
    return this.hangupCall(uuid) ? json({ hungUp: uuid }) : problem(404, `no live call ${JSON.stringify(uuid.slice(0, 64))}`);
  }

  /** One SSE stream; the first frame is a comment so the client sees the stream open. */
  events(): Response {
    if (this.streams.size >= MAX_STREAMS) return problem(503, `too many live views open (${MAX_STREAMS}): close one`);
    let mine: ReadableStreamDefaultController<string> | null = null;
    const body = new ReadableStream<string>({
      start: (controller) => {
        mine = controller;
        this.streams.add(controller);
        controller.enqueue(": live\n\n");
        this.follow();
      },
      cancel: () => {
        if (mine) this.streams.delete(mine);
        this.follow();
      },
    });
    return new Response(body, { headers: { "content-type": "text/event-stream", "cache-control": "no-store", "x-accel-buffering": "no" } });
  }

  /** Observe the store only while a stream is open; keep proxies from closing quiet streams. */
  private follow(): void {
    const watching = this.streams.size > 0;
    this.writer.observe(watching ? this.encoder : null);
    if (watching && this.heartbeat === null) {
      this.heartbeat = setInterval(() => {
        this.send(": keep-alive\n\n");
      }, HEARTBEAT_MS);
      this.heartbeat.unref();
    } else if (!watching && this.heartbeat !== null) {
      clearInterval(this.heartbeat);
      this.heartbeat = null;
    }
  }

  /**
   * A stream whose client has gone throws on enqueue, and one that stopped reading piles frames
   * up: either is dropped (the page reconnects), never the store's write.
   */
  private send(frame: string): void {
    for (const s of this.streams) {
      try {
        if ((s.desiredSize ?? 0) < -MAX_QUEUED) throw new Error("the client stopped reading");
        s.enqueue(frame);
      } catch {
        this.streams.delete(s);
        try {
          s.close();
        } catch {
          // Already closed by the client going away.
        }
      }
    }
  }

  close(): void {
    for (const s of this.streams) s.close();
    this.streams.clear();
    this.follow();
  }
}
