import { createContextValues, type UnaryRequest, type UnaryResponse } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { currentCallScope, runInCallScope, runOutsideCall } from "./call-scope.js";
import { createPropagationInterceptor } from "./client-interceptor.js";

/** What the interceptor would send: the headers of a request passed through it. */
async function sentHeaders(contextValues = createContextValues()): Promise<Headers> {
  const interceptor = createPropagationInterceptor();
  const req = { header: new Headers(), contextValues } as unknown as UnaryRequest;
  let sent: Headers | undefined;
  await interceptor(async (r) => {
    sent = r.header;
    return {} as UnaryResponse;
  })(req);
  return sent ?? new Headers();
}

describe("createPropagationInterceptor", () => {
  it("sends the scope's credential inside a call, and none after runOutsideCall says so", async () => {
    await runInCallScope(async () => {
      const scope = currentCallScope();
      if (!scope) throw new Error("no scope");
      scope.credential = "caller-token";
      scope.requestId = "req-1";
      expect((await sentHeaders()).get("authorization")).toBe("Bearer caller-token");
      // A job started from the request that must not act as the caller.
      const fromJob = await runOutsideCall(() => sentHeaders());
      expect(fromJob.get("authorization")).toBeNull();
      expect(fromJob.get("x-request-id")).toBeNull();
    });
  });

  it("sends nothing outside any call", async () => {
    const headers = await sentHeaders();
    expect([...headers.keys()]).toEqual([]);
  });
});
