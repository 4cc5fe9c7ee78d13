/** Plain PCM facts shared by transports, media and the simulator. */

/** Every frame on every wire is 20 ms. */
export const FRAME_MS = 20;

export function frameSamplesFor(sampleRate: number): number {
  return (sampleRate * FRAME_MS) / 1000;
}

/** Rates the phrase cache renders at start-up: the two every PBX set-up uses. */
export const COMMON_RATES = [8000, 16000] as const;
