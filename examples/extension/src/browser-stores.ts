import type { KeyValueStore } from "./key-value-store.js";

function chromeArea(area: ChromeStorageArea): KeyValueStore {
  return {
    async get<T>(key: string) {
      return (await area.get(key))[key] as T | undefined;
    },
    set: (key, value) => area.set({ [key]: value }),
    remove: (key) => area.remove(key),
  };
}

function webStorage(storage: Storage): KeyValueStore {
  return {
    async get<T>(key: string) {
      const raw = storage.getItem(key);
      return raw === null ? undefined : (JSON.parse(raw) as T);
    },
    async set(key, value) {
      storage.setItem(key, JSON.stringify(value));
    },
    async remove(key) {
      storage.removeItem(key);
    },
  };
}

/** Kept across browser restarts: the refresh token, the server, the last agent. */
export function persistentStore(): KeyValueStore {
  const area = globalThis.chrome?.storage?.local;
  return area ? chromeArea(area) : webStorage(localStorage);
}

/** Kept in memory while the browser runs, shared by every popup: the access token. */
export function memoryStore(): KeyValueStore {
  const area = globalThis.chrome?.storage?.session;
  return area ? chromeArea(area) : webStorage(sessionStorage);
}
