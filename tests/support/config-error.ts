import { ConfigError } from "../../src/config/schema.ts";

/** The ConfigError `fn` throws (any other error is re-thrown; no error fails the test). */
export function configErrorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error("expected a ConfigError");
}
