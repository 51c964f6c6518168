import pg from "pg";

const PING_TIMEOUT_MS = 5_000;

/**
 * A new connection for `LISTEN`s, handing each of its notifications to `deliver` with its channel
 * (the caller issues the `LISTEN`s). Its 'error' events are swallowed until the caller installs its
 * own handlers: an 'error' without a listener kills the process.
 */
export async function openListenClient(
  clientConfig: pg.ClientConfig,
  deliver: (channel: string, payload: string) => void,
): Promise<pg.Client> {
  const client = new pg.Client(clientConfig);
  client.on("error", () => undefined);
  try {
    await client.connect();
    client.on("notification", (msg) => deliver(msg.channel, msg.payload ?? ""));
    return client;
  } catch (err) {
    client.end().catch(() => undefined);
    throw err;
  }
}

/**
 * Checks an idle connection every `intervalMs` with `SELECT 1` (a silently dead TCP link sends no
 * error); `onDead` hears a ping that failed or got no answer within 5 s. Returns the timer to clear.
 */
export function pingEvery(
  client: pg.Client,
  intervalMs: number,
  onDead: (err: unknown) => void,
): NodeJS.Timeout {
  let pinging = false;
  const timer = setInterval(() => {
    if (pinging) return;
    pinging = true;
    let timeout: NodeJS.Timeout | undefined;
    Promise.race([
      client.query("SELECT 1"),
      new Promise((_, reject) => {
        timeout = setTimeout(
          () => reject(new Error(`no answer to a ping within ${PING_TIMEOUT_MS} ms`)),
          PING_TIMEOUT_MS,
        );
      }),
    ])
      .catch(onDead)
      .finally(() => {
        clearTimeout(timeout);
        pinging = false;
      });
  }, intervalMs);
  timer.unref();
  return timer;
}
