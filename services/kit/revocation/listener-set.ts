/**
 * Listeners called in turn with each value. One that throws is reported through `onError` and
 * does not keep the others from hearing it: a listener's bug must not stall the feed.
 */
export interface ListenerSet<T> {
  /** Adds `listener`; the function returned removes it. */
  add(listener: (value: T) => void): () => void;
  notify(value: T, onError: (err: unknown) => void): void;
}

export function createListenerSet<T>(): ListenerSet<T> {
  const listeners = new Set<(value: T) => void>();
  return {
    add(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    notify(value, onError) {
      for (const listener of listeners) {
        try {
          listener(value);
        } catch (err) {
          onError(err);
        }
      }
    },
  };
}
