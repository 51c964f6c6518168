import { describe, expect, it } from "vitest";
import { isLoopbackAddress, isPublicAddress } from "./address-policy.js";

describe("which addresses a metadata document may be fetched from", () => {
  it("admits global unicast, IPv4 and IPv6", () => {
    for (const a of [
      "8.8.8.8",
      "93.184.216.34",
      "172.32.0.1",
      "100.128.0.1",
      "2606:4700::1111",
      "2001:4860:4860::8888",
      "::ffff:8.8.8.8",
      "64:ff9b::8.8.8.8",
    ]) {
      expect(isPublicAddress(a), a).toBe(true);
    }
  });

  it("refuses loopback, private, link-local, CGNAT, unique-local, multicast, unspecified, reserved and their mapped forms", () => {
    for (const a of [
      "127.0.0.1",
      "127.255.0.9",
      "10.1.2.3",
      "172.16.0.1",
      "172.31.255.255",
      "192.168.1.1",
      "169.254.169.254",
      "100.64.0.1",
      "100.127.255.255",
      "0.0.0.0",
      "255.255.255.255",
      "224.0.0.1",
      "240.0.0.1",
      "192.0.2.1",
      "198.18.0.1",
      "::",
      "::1",
      "fc00::1",
      "fd12:3456::1",
      "fe80::1",
      "fe80::1%eth0",
      "ff02::1",
      "::ffff:127.0.0.1",
      "::ffff:7f00:1",
      "::ffff:10.0.0.1",
      "::ffff:169.254.169.254",
      "64:ff9b::7f00:1",
      "::127.0.0.1",
      "2001:db8::1",
      "2002:7f00:1::",
      "2001::1",
      "not-an-address",
      "1.2.3",
    ]) {
      expect(isPublicAddress(a), a).toBe(false);
    }
  });

  it("knows loopback in every spelling, for the development switch only", () => {
    for (const a of ["127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1"])
      expect(isLoopbackAddress(a), a).toBe(true);
    for (const a of ["10.0.0.1", "::", "::2", "8.8.8.8", "fe80::1"])
      expect(isLoopbackAddress(a), a).toBe(false);
  });
});
