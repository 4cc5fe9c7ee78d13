/**
 * Which call a provider request serves, for the providers' log lines: the providers are shared by
 * every call, so the call layer runs each call's requests inside `forCall` and the warnings of the
 * AI layer (deadline misses, fallbacks, breaker transitions) name the call without it being passed
 * through every interface.
 */
import { AsyncLocalStorage } from "node:async_hooks";

const current = new AsyncLocalStorage<string>();

/** Runs `work`, and everything it starts, on behalf of call `id` (its UUID). */
export function forCall<T>(id: string, work: () => T): T {
  return current.run(id, work);
}

/** `{ call }` for a log line about the current request; empty outside a call (start-up, phrase rendering). */
export function callFields(): { call?: string } {
  const call = current.getStore();
  return call === undefined ? {} : { call };
}
