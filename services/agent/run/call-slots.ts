import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";

/**
 * At most `slots` calls in flight through one client; the rest wait their turn, each within its
 * own deadline (its signal), in arrival order. All of a service's calls to another share one
 * HTTP/2 connection, and a peer refuses — then drops — a connection whose streams hold more than
 * its session memory (Node's default 10 MB: `NGHTTP2_ENHANCE_YOUR_CALM`, then every stream of the
 * connection reset). A thousand turns' tool listings at once (~15 KB each) went past it, failing
 * turns on a machine that was only busy; waiting for a slot is waiting, like any slow answer
 * (docs/agent.md, "Deadlines").
 */
export function callSlots(slots: number): Interceptor {
  let inFlight = 0;
  const waiting: Array<() => void> = [];
  const release = () => {
    const next = waiting.shift();
    if (next) next();
    else inFlight--;
  };
  const acquire = (signal: AbortSignal): Promise<void> => {
    if (inFlight < slots) {
      inFlight++;
      return Promise.resolve();
    }
    // A call already past its deadline (or cancelled) fails now, not once a slot frees.
    if (signal.aborted) {
      return Promise.reject(ConnectError.from(signal.reason ?? new ConnectError("cancelled", Code.Canceled)));
    }
    return new Promise<void>((resolve, reject) => {
      const take = () => {
        signal.removeEventListener("abort", giveUp);
        resolve();
      };
      const giveUp = () => {
        const at = waiting.indexOf(take);
        if (at >= 0) waiting.splice(at, 1);
        reject(ConnectError.from(signal.reason ?? new ConnectError("cancelled", Code.Canceled)));
      };
      waiting.push(take);
      signal.addEventListener("abort", giveUp, { once: true });
    });
  };
  return (next) => async (req) => {
    await acquire(req.signal);
    let held = true;
    const done = () => {
      if (!held) return;
      held = false;
      release();
    };
    try {
      const res = await next(req);
      if (!res.stream) {
        done();
        return res;
      }
      // A streaming answer holds its slot until it has been read to the end.
      const messages = res.message;
      return {
        ...res,
        message: (async function* () {
          try {
            yield* messages;
          } finally {
            done();
          }
        })(),
      };
    } catch (err) {
      done();
      throw err;
    }
  };
}
