/** Load one API path into a view: the data, the error to show, and a reload. */
import { useCallback, useEffect, useState } from "preact/hooks";
import { get } from "../api.ts";

export interface Loaded<T> {
  data: T | null;
  error: string | null;
  reload: () => void;
}

export function useApi<T>(path: string | null): Loaded<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (path === null) return;
    let current = true;
    get<T>(path).then(
      (d) => {
        if (!current) return;
        setData(d);
        setError(null);
      },
      (err: unknown) => {
        if (current) setError(err instanceof Error ? err.message : String(err));
      },
    );
    return () => {
      current = false;
    };
  }, [path, tick]);
  return { data, error, reload: useCallback(() => setTick((n) => n + 1), []) };
}
