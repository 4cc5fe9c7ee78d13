/**
 * Stores in throw-away data dirs for a test file: each store still open is closed and each dir
 * removed after every test; `close` is for a test that closes one itself (to reopen it, say).
 */
import { afterEach } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Store } from "../../src/store/store.ts";

export interface TempStores {
  tempDir(): string;
  open(dataDir: string, options?: { readonly?: boolean }): Store;
  close(store: Store): void;
}

export function tempStores(prefix: string): TempStores {
  const dirs: string[] = [];
  const stores: Store[] = [];
  afterEach(() => {
    for (const s of stores.splice(0)) s.close();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  return {
    tempDir() {
      const dir = mkdtempSync(join(tmpdir(), prefix));
      dirs.push(dir);
      return dir;
    },
    open(dataDir, options = {}) {
      const s = Store.open(dataDir, options);
      stores.push(s);
      return s;
    },
    close(store) {
      store.close();
      stores.splice(stores.indexOf(store), 1);
    },
  };
}
