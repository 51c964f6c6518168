/**
 * Where the popup keeps things: the extension's storage (`chrome.storage`), or the page's
 * `localStorage`/`sessionStorage` when the popup runs as a development page.
 */
export interface KeyValueStore {
  get<T>(key: string): Promise<T | undefined>;
  set(key: string, value: unknown): Promise<void>;
  remove(key: string): Promise<void>;
}
