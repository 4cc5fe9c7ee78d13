/**
 * One EventSource on /api/live/events for the whole page, opened while some view listens. The
 * browser reconnects it by itself after a drop; `onOpen` listeners reload what they show then,
 * since events sent while it was down are not replayed.
 */
import type { LiveChange } from "./types.ts";

type Listener = (change: LiveChange) => void;
const KINDS = ["call-started", "call-ended", "turn", "event"] as const;

const listeners = new Set<Listener>();
const openListeners = new Set<() => void>();
let source: EventSource | null = null;

function dispatch(message: MessageEvent<string>): void {
  const change = JSON.parse(message.data) as LiveChange;
  for (const l of listeners) l(change);
}

function ensureOpen(): void {
  if (source !== null) return;
  source = new EventSource("/api/live/events");
  for (const kind of KINDS) source.addEventListener(kind, dispatch);
  source.addEventListener("open", () => {
    for (const l of openListeners) l();
  });
}

function closeIfIdle(): void {
  if (listeners.size > 0 || source === null) return;
  source.close();
  source = null;
}

/** Follow the live feed; `onOpen` runs each time the stream (re)connects. Returns the unsubscribe. */
export function subscribeLive(listener: Listener, onOpen?: () => void): () => void {
  listeners.add(listener);
  if (onOpen) openListeners.add(onOpen);
  ensureOpen();
  return () => {
    listeners.delete(listener);
    if (onOpen) openListeners.delete(onOpen);
    closeIfIdle();
  };
}
