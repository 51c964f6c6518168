import { readFileSync } from "node:fs";
import * as net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { freePort } from "./free-port.js";

const [ephemeralLow, ephemeralHigh] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8")
  .trim()
  .split(/\s+/)
  .map(Number) as [number, number];

const held: net.Server[] = [];
afterEach(async () => {
  await Promise.all(held.splice(0).map((s) => new Promise((r) => s.close(r))));
});

function hold(port: number): Promise<void> {
  const server = net.createServer();
  held.push(server);
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", resolve);
  });
}

describe("freePort", () => {
  it("hands out ports outside the kernel's ephemeral range, where outgoing connections take theirs", async () => {
    for (let i = 0; i < 20; i++) {
      const port = await freePort();
      expect(port < ephemeralLow || port > ephemeralHigh).toBe(true);
    }
  });

  it("hands out a port that can be listened on, and a different one next time while the first is held", async () => {
    const first = await freePort();
    await hold(first);
    const second = await freePort();
    expect(second).not.toBe(first);
    await hold(second);
  });

  it("never hands out a port that is taken, even after going round its whole slice", async () => {
    const taken = await freePort();
    await hold(taken);
    const handed = new Set<number>();
    for (let i = 0; i < 1_000; i++) handed.add(await freePort());
    expect(handed.has(taken)).toBe(false);
    expect(handed.size).toBeGreaterThan(100);
  });
});
