import { describe, expect, it } from "vitest";
import { captureLogs } from "#kit/testing/log-capture.js";
import {
  createMissingAddressWarning,
  MISSING_ADDRESS_WARNING_INTERVAL_MS,
} from "./missing-address-warning.js";

describe("the warning for attempts without a client address", () => {
  it("warns at once, then at most once a minute, counting the attempts since the last warning", () => {
    const logs = captureLogs("identity");
    let now = 0;
    const warn = createMissingAddressWarning(logs.logger, 2, "login attempts", () => now);
    warn();
    warn();
    now = MISSING_ADDRESS_WARNING_INTERVAL_MS - 1;
    warn();
    expect(logs.records()).toHaveLength(1);
    now = MISSING_ADDRESS_WARNING_INTERVAL_MS;
    warn();
    const records = logs.records();
    expect(records.map((r) => [r.level, r.trusted_proxy_hops, r.requests])).toEqual([
      ["warn", 2, 1],
      ["warn", 2, 3],
    ]);
    expect(String(records[0]?.msg)).toMatch(/TRUSTED_PROXY_HOPS/);
  });
});
