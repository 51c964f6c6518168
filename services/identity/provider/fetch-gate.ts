/**
 * Bounds the Client ID Metadata Document fetches in flight (docs/identity.md): at most `maxInFlight`
 * in all and one per client id, so requests naming slow documents can't pile up outgoing
 * connections. Past either bound a request is refused at once rather than queued.
 */
export interface FetchGate {
  /** A release function when `key` may fetch now; undefined when it must be refused. */
  enter(key: string): (() => void) | undefined;
}

export function createFetchGate(maxInFlight: number): FetchGate {
  const inFlight = new Set<string>();
  return {
    enter(key) {
      if (inFlight.size >= maxInFlight || inFlight.has(key)) return undefined;
      inFlight.add(key);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        inFlight.delete(key);
      };
    },
  };
}
