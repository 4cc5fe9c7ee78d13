/**
 * Request/response over a Bun Worker: numbered requests, transferred buffers, errors carried back
 * as messages. The worker keeps the process alive only while it has requests in flight, so an
 * idle pool never holds a finished program open.
 */

/** Every request carries the id the client stamps on it; callers may reuse one object per stream. */
export interface RpcRequest {
  id: number;
  readonly op: string;
}

export type RpcReply = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: string };

export interface RpcResult {
  value: unknown;
  transfer?: Bun.Transferable[];
}

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
}

/** Main-thread side of one worker. */
export class WorkerRpc<Req extends RpcRequest> {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private failure: Error | null = null;

  constructor(
    private readonly worker: Worker,
    private readonly name: string,
  ) {
    worker.unref();
    worker.addEventListener("message", (event: MessageEvent<RpcReply>) => this.settle(event.data));
    worker.addEventListener("error", (event: ErrorEvent) => {
      this.fail(new Error(`${name} worker crashed: ${event.message}`));
    });
  }

  /** Requests sent and not yet answered: the pool's load measure. */
  get inFlight(): number {
    return this.pending.size;
  }

  /** Set once the worker crashed or was terminated; every later call rejects with it. */
  get error(): Error | null {
    return this.failure;
  }

  /** Sends `request` (stamping its id) and resolves with the worker's value. `transfer` moves buffers. */
  call<T>(request: Req, transfer: Bun.Transferable[] = []): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    request.id = id;
    return new Promise<T>((resolve, reject) => {
      if (this.pending.size === 0) this.worker.ref();
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.worker.postMessage(request, transfer);
    });
  }

  /** Stops the worker now; requests still in flight reject with `reason`. */
  terminate(reason: string): void {
    this.fail(new Error(reason));
    this.worker.terminate();
  }

  private settle(reply: RpcReply): void {
    const entry = this.pending.get(reply.id);
    if (!entry) return;
    this.pending.delete(reply.id);
    if (this.pending.size === 0) this.worker.unref();
    if (reply.ok) entry.resolve(reply.value);
    else entry.reject(new Error(`${this.name}: ${reply.error}`));
  }

  private fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    this.worker.unref();
    const entries = [...this.pending.values()];
    this.pending.clear();
    for (const entry of entries) entry.reject(error);
  }
}

/**
 * Worker side: answers each request with `handle`'s value, or with its error message. Requests are
 * handled in arrival order; a synchronous handler finishes before the next request starts.
 */
export function serveRpc<R extends RpcRequest>(handle: (request: R) => RpcResult | Promise<RpcResult>): void {
  const replyError = (id: number, error: unknown): void => {
    const message = error instanceof Error ? error.message : String(error);
    postMessage({ id, ok: false, error: message } satisfies RpcReply);
  };
  addEventListener("message", (event: MessageEvent<R>) => {
    const request = event.data;
    try {
      const result = handle(request);
      if (result instanceof Promise) {
        result.then(
          (done) => postMessage({ id: request.id, ok: true, value: done.value } satisfies RpcReply, done.transfer ?? []),
          (error: unknown) => replyError(request.id, error),
        );
      } else {
        postMessage({ id: request.id, ok: true, value: result.value } satisfies RpcReply, result.transfer ?? []);
      }
    } catch (error) {
      replyError(request.id, error);
    }
  });
}
