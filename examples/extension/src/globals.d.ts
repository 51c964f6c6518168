/** Set by the build (build.ts): the chat URL the login form starts with. */
declare const __DEFAULT_CHAT_URL__: string;

/** The part of the extension API the popup uses; absent when the popup runs as a development page. */
interface ChromeStorageArea {
  get(keys: string | string[]): Promise<Record<string, unknown>>;
  set(items: Record<string, unknown>): Promise<void>;
  remove(keys: string | string[]): Promise<void>;
}
declare var chrome:
  | {
      readonly runtime?: { readonly id?: string };
      readonly storage?: { readonly local: ChromeStorageArea; readonly session?: ChromeStorageArea };
      /** The sign-in window (manifest permission "identity"). */
      readonly identity?: {
        getRedirectURL(path?: string): string;
        launchWebAuthFlow(details: { url: string; interactive: boolean }): Promise<string | undefined>;
      };
    }
  | undefined;
