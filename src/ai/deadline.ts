/** A provider's per-step deadline: the step's result, or DEADLINE_MISSED once `ms` passes first. */

export const DEADLINE_MISSED = Symbol("deadline missed");

/**
 * Races `step` against a timer that is always cleared. A step that loses keeps running: the caller
 * aborts its request; its late result or rejection is swallowed here.
 */
export async function withinDeadline<T>(step: Promise<T>, ms: number): Promise<T | typeof DEADLINE_MISSED> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<typeof DEADLINE_MISSED>((resolve) => {
    timer = setTimeout(resolve, ms, DEADLINE_MISSED);
  });
  try {
    const winner = await Promise.race([step, expired]);
    if (winner === DEADLINE_MISSED) step.catch(() => undefined);
    return winner;
  } finally {
    clearTimeout(timer);
  }
}
