/**
 * A call connection's one pending timer (first message, no audio, a close or drain wait): setting
 * it replaces the one pending, and a callback that throws goes to the connection's failure
 * handler instead of the runtime, since it runs outside any socket callback.
 */
export class CallTimer {
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly onFailure: (error: unknown) => void) {}

  set(ms: number, fn: () => void): void {
    this.clear();
    this.timer = setTimeout(() => {
      this.timer = null;
      try {
        fn();
      } catch (error) {
        this.onFailure(error);
      }
    }, ms);
  }

  clear(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}
