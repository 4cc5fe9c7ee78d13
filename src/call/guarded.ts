/**
 * `fn` for a timer: what it throws goes to `onError`. Thrown from a timer it would reach the
 * process, which Bun ends, and every call with it; a call's own fault must end that call at most.
 */
export function guarded(fn: () => void, onError: (error: unknown) => void): () => void {
  return () => {
    try {
      fn();
    } catch (error) {
      onError(error);
    }
  };
}
