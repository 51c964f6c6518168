/**
 * `pending`, unless `signal` aborts first: then rejected with the signal's reason. The work behind
 * `pending` is not stopped — it is shared (a single-flight token fetch), and the other callers
 * waiting on it keep waiting; only this caller stops, at its own deadline or cancellation.
 */
export function untilAborted<T>(pending: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return pending;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const stop = () => reject(signal.reason);
    signal.addEventListener("abort", stop, { once: true });
    pending.then(
      (value) => {
        signal.removeEventListener("abort", stop);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener("abort", stop);
        reject(err);
      },
    );
  });
}
