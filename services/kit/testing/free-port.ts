import { readFileSync } from "node:fs";
import * as net from "node:net";

/**
 * Ports handed out for servers whose peers must know the address before they start.
 *
 * `listen(0)` would hand out a port from the kernel's ephemeral range, which is also where every outgoing
 * connection of every test worker takes its local port: between the probe closing and the server listening,
 * another worker's connection could take it (CI saw `EADDRINUSE` that way). So the ports come from outside the
 * ephemeral range, and each test worker (VITEST_POOL_ID) or other process draws from its own slice, so two
 * workers never race for one port.
 */
const SLICE_SIZE = 800;
const LOWEST = 10_000;

/** The largest run of ports outside the ephemeral range, read from the kernel where it says. */
function nonEphemeralWindow(): { start: number; end: number } {
  let [low, high] = [32_768, 60_999];
  try {
    const parts = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8")
      .trim()
      .split(/\s+/)
      .map(Number);
    if (parts.length === 2 && parts.every(Number.isInteger)) [low, high] = parts as [number, number];
  } catch {
    // Not Linux: keep the kernel default above.
  }
  const below = { start: LOWEST, end: low - 1 };
  const above = { start: high + 1, end: 65_535 };
  return below.end - below.start >= above.end - above.start ? below : above;
}

function slice(): { start: number; size: number } {
  const window = nonEphemeralWindow();
  const size = Math.min(SLICE_SIZE, window.end - window.start + 1);
  const slices = Math.max(1, Math.floor((window.end - window.start + 1) / size));
  const pool = Number(process.env.VITEST_POOL_ID);
  const owner = Number.isInteger(pool) && pool > 0 ? pool : process.pid;
  return { start: window.start + (owner % slices) * size, size };
}

let nextOffset = Math.floor(Math.random() * SLICE_SIZE);

async function kernelsChoice(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

function canListen(port: number): Promise<boolean> {
  const probe = net.createServer();
  return new Promise((resolve) => {
    probe.once("error", () => resolve(false));
    probe.listen(port, "127.0.0.1", () => probe.close(() => resolve(true)));
  });
}

/** A loopback port that is free now and that no other test worker will be handed. */
export async function freePort(): Promise<number> {
  const { start, size } = slice();
  // A kernel whose ephemeral range leaves no room outside it: the kernel's own choice, as before.
  if (!(size > 0)) return kernelsChoice();
  for (let tried = 0; tried < size; tried++) {
    const port = start + (nextOffset++ % size);
    if (await canListen(port)) return port;
  }
  throw new Error(`freePort: every port in ${start}–${start + size - 1} is taken`);
}
