/**
 * The phrase cache at start-up: every tenant's phrases load or render behind the listeners, the
 * greetings first, while calls are already answered (a phrase not ready yet is spoken by the live
 * voice; after a voice change the previous voice's files stand in). What /healthz and /metrics say
 * about it comes from here.
 */
import type { Logger } from "../log.ts";
import { COMMON_RATES } from "../media/pcm.ts";
import type { TenantProfiles } from "./serve-tenants.ts";

export interface PhraseStartup {
  /** Resolves when every tenant's phrases are in memory at the common rates; rejects if one cannot be rendered. */
  readonly done: Promise<void>;
  readonly ready: boolean;
  /** Phrase × rate pairs in memory now, over every tenant, out of `total`. */
  progress(): { ready: number; total: number };
  /**
   * What /healthz adds to `phrases` (ready|loading): how far the render is, how calls are greeted
   * meanwhile, and why the render failed if it did (calls then keep hearing the live voice).
   */
  health(): Record<string, unknown>;
}

/**
 * Starts every tenant's render; call it before the listeners open: a previous voice's phrases (a
 * voice change) are read at once, so even the first call finds them.
 */
export function startPhrases(profiles: TenantProfiles, log: Logger, startedAt: number): PhraseStartup {
  let ready = false;
  let error: string | null = null;
  const done = Promise.all(profiles.all.map((profile) => {
    const standIn = profile.phrases.loadPreviousVoice(COMMON_RATES);
    return prepareTenant(profile, standIn, log);
  })).then(() => {
    ready = true;
    log.info("phrases ready", { tenants: profiles.all.length, rates: COMMON_RATES.join(","), ms: Date.now() - startedAt });
  });
  done.catch((err: unknown) => {
    error = err instanceof Error ? err.message : String(err);
    log.error("phrases could not be rendered: calls hear every prompt from the live voice", { error });
  });
  const progress = (): { ready: number; total: number } => {
    let sum = 0;
    let total = 0;
    for (const { phrases } of profiles.all) {
      const one = phrases.readiness(COMMON_RATES);
      sum += one.ready;
      total += one.total;
    }
    return { ready: sum, total };
  };
  // Greetings in memory for every tenant at the common rates, in this voice or the previous one.
  const greetingsCached = (): boolean => profiles.all.every(({ phrases, greetings }) => COMMON_RATES.every((rate) => phrases.audioFor(greetings, rate) !== null));
  return {
    done,
    get ready() {
      return ready;
    },
    progress,
    health: () => {
      const { ready: inMemory, total } = progress();
      return {
        phrasesInMemory: inMemory,
        phrasesTotal: total,
        greetings: greetingsCached() ? "cached" : "live voice",
        ...(error === null ? {} : { phrasesError: error }),
      };
    },
  };
}

async function prepareTenant({ phrases, tenant }: TenantProfiles["all"][number], standIn: { voiceId: string; loaded: number } | null, log: Logger): Promise<void> {
  // Started before anything else: a call arriving now hears the greeting's render as it comes.
  const render = phrases.prepare(COMMON_RATES);
  render.catch(() => undefined);
  const disk = await phrases.diskState(COMMON_RATES);
  if (disk.state !== "fresh") {
    const meanwhile = standIn
      ? `calls hear ${standIn.voiceId}'s phrases (${standIn.loaded} found) or the live voice until then`
      : "calls hear the live voice for each phrase not ready yet";
    if (disk.state === "stale") log.warn(`phrase cache is stale (${disk.reason}): rendering it now, the greetings first; ${meanwhile} (\`voicebot cache build\` does it ahead of time)`, { tenant: tenant.id });
    else log.info(`phrase cache not built for this voice: rendering it now, the greetings first; ${meanwhile} (\`voicebot cache build\` does it ahead of time)`, { tenant: tenant.id, reason: disk.reason });
  }
  await render;
}
