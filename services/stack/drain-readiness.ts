/**
 * Whether the running process has said it drains on SIGTERM (see stopOnSignals): only then is it
 * ready, and only then is a SIGTERM a graceful stop rather than a kill. A restart starts over.
 */
export class DrainReadiness {
  private drainable = false;
  private waiters: (() => void)[] = [];

  get isDrainable(): boolean {
    return this.drainable;
  }

  /** A new process started: it has said nothing yet. */
  reset(): void {
    this.drainable = false;
  }

  /** The process said it drains: wakes everyone waiting for it. */
  declare(): void {
    this.drainable = true;
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  until(): Promise<void> {
    return this.drainable ? Promise.resolve() : new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  /** `until`, rejecting after `timeoutMs` or once `gaveUp()` says so (checked every 100 ms). */
  within(timeoutMs: number, gaveUp: () => boolean): Promise<void> {
    return new Promise((resolve, reject) => {
      const deadline = Date.now() + timeoutMs;
      const check = setInterval(() => {
        if (gaveUp()) reject(new Error("gave up waiting for the process"));
        else if (Date.now() > deadline) reject(new Error(`not ready within ${timeoutMs} ms`));
        else return;
        clearInterval(check);
      }, 100);
      void this.until().then(() => {
        clearInterval(check);
        resolve();
      });
    });
  }
}
