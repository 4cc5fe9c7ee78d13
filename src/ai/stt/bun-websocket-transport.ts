/**
 * The Deepgram SDK's transport seam (`transportFactory`) filled with Bun's own WebSocket client.
 * The SDK's default on Bun is the `ws` package over node:net, whose per-message send cost was 60 %
 * of the server's main thread at 200 calls (50 audio frames a second each); Bun's native client
 * sends the same frames for a fraction of it and, unlike a browser's, takes request headers (the
 * `Authorization: Token` Deepgram needs). The SDK still does everything else: URL, query,
 * auth header, message types, control messages.
 */
import type { DeepgramTransport, DeepgramTransportCloseEvent, DeepgramTransportFactory, DeepgramTransportMessage } from "@deepgram/sdk";

type Listener<T> = (value: T) => void;

class BunWebSocketTransport implements DeepgramTransport {
  private readonly socket: WebSocket;
  private readonly openListeners: Listener<void>[] = [];
  private readonly messageListeners: Listener<DeepgramTransportMessage>[] = [];
  private readonly errorListeners: Listener<Error>[] = [];
  private readonly closeListeners: Listener<DeepgramTransportCloseEvent>[] = [];

  constructor(url: string, headers: Record<string, string>, protocols: string[]) {
    this.socket = new WebSocket(url, { headers, protocols });
    this.socket.binaryType = "arraybuffer";
    this.socket.addEventListener("open", () => {
      for (const listener of this.openListeners) listener();
    });
    this.socket.addEventListener("message", (event) => {
      const data = event.data as DeepgramTransportMessage;
      for (const listener of this.messageListeners) listener(data);
    });
    this.socket.addEventListener("error", (event) => {
      const message = (event as ErrorEvent).message || "WebSocket error";
      for (const listener of this.errorListeners) listener(new Error(message));
    });
    this.socket.addEventListener("close", (event) => {
      for (const listener of this.closeListeners) listener({ code: event.code, reason: event.reason });
    });
  }

  send(data: DeepgramTransportMessage): void {
    // Bun's send takes every one of these (views are sent as their bytes); only its typing is narrower.
    this.socket.send(data as Parameters<WebSocket["send"]>[0]);
  }

  onOpen(listener: () => void): void {
    this.openListeners.push(listener);
  }

  onMessage(listener: (message: DeepgramTransportMessage) => void): void {
    this.messageListeners.push(listener);
  }

  onError(listener: (error: Error) => void): void {
    this.errorListeners.push(listener);
  }

  onClose(listener: (event: DeepgramTransportCloseEvent) => void): void {
    this.closeListeners.push(listener);
  }

  isOpen(): boolean {
    return this.socket.readyState === WebSocket.OPEN;
  }

  close(code?: number, reason?: string): void {
    this.socket.close(code, reason);
  }
}

export const bunWebSocketTransport: DeepgramTransportFactory = (url, headers, request) =>
  new BunWebSocketTransport(url, headers, request.protocols);
