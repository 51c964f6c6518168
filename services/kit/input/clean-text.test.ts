import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { RelayService } from "../testing/gen/supportext/relay/v1/relay_pb.js";
import { createCleanRpcInput } from "./clean-rpc-input.js";
import { dirtyStringIn, MAX_DEPTH, STRICT, textProblem } from "./clean-text.js";

describe("the text rule (docs/architecture.md, Input text)", () => {
  const alwaysBad = ["\u0000", "a\u0000b", "\u0001", "\u001b", "\u001f", "\u007f", "\u0085", "\u009f"];
  const unicodeBad = ["\ud800", "x\udfff", "\udbffA"];
  const good = ["", "agent@company.com", "é😀\u2028\ufeff", "https://app.example/cb?x=1#y", "\ud83d\ude00"];

  it("by default refuses NUL, every other control but TAB/LF/CR, and lone surrogates", () => {
    for (const bad of [...alwaysBad, "\u000b", "\u000c", ...unicodeBad]) {
      expect(textProblem(bad), JSON.stringify(bad)).toBeDefined();
    }
    for (const ok of [...good, "\t", "line 1\r\nline 2\n", '{"a":"\\u0000"}']) {
      expect(textProblem(ok), JSON.stringify(ok)).toBeUndefined();
    }
  });

  it("strictly refuses every control character, TAB, LF and CR included", () => {
    for (const bad of [...alwaysBad, "\t", "\r\n", "\n", ...unicodeBad]) {
      expect(textProblem(bad, STRICT), JSON.stringify(bad)).toBeDefined();
    }
    for (const ok of good) expect(textProblem(ok, STRICT), JSON.stringify(ok)).toBeUndefined();
  });

  it("finds the first dirty string anywhere in a parsed document, keys included, and bounds nesting", () => {
    expect(dirtyStringIn({ redirect_uris: ["https://a.example/cb"], client_name: "ok" })).toBeUndefined();
    expect(dirtyStringIn({ redirect_uris: ["https://a.example/\u0000"] })).toBe(
      "$.redirect_uris[0] contains a control character",
    );
    expect(dirtyStringIn({ text: "a\nb" })).toBeUndefined();
    expect(dirtyStringIn({ text: "a\nb" }, STRICT)).toBe("$.text contains a control character");
    expect(dirtyStringIn({ "k\u0001": 1 })).toMatch(/^a key in \$ contains a control character/);
    expect(dirtyStringIn({ a: { b: ["\ud800"] } })).toBe("$.a.b[0] is not well-formed Unicode");
    expect(dirtyStringIn(new Uint8Array([0, 1, 2]))).toBeUndefined();
    const deep = JSON.parse(`${"[".repeat(10_000)}${"]".repeat(10_000)}`);
    expect(dirtyStringIn(deep)).toMatch(/nested too deeply/);
    let shallow: unknown = "x";
    for (let i = 0; i < MAX_DEPTH; i++) shallow = [shallow];
    expect(dirtyStringIn(shallow)).toBeUndefined();
  });
});

describe("the RPC interceptor", () => {
  const client = (strict: boolean) =>
    createClient(
      RelayService,
      createRouterTransport(
        (router) =>
          router.service(RelayService, {
            inspect: (req) => ({ nonce: req.nonce, hops: [] }),
            async *inspectStream() {},
          }),
        {
          router: { interceptors: [createCleanRpcInput(strict ? STRICT : {})] },
          // JSON carries a lone surrogate as written ("\\ud800"); binary would make it U+FFFD.
          transport: { useBinaryFormat: false },
        },
      ),
    );
  const codeOf = (call: Promise<unknown>) =>
    call.then(
      () => "ok",
      (err: unknown) => Code[ConnectError.from(err).code],
    );

  it("answers a dirty string field invalid_argument before the handler runs", async () => {
    expect(await codeOf(client(false).inspect({ nonce: "a\u0000b" }))).toBe("InvalidArgument");
    expect(await codeOf(client(false).inspect({ nonce: "\ud800" }))).toBe("InvalidArgument");
    expect(await codeOf(client(false).inspect({ nonce: "line\r\n\tnext" }))).toBe("ok");
    expect(await codeOf(client(true).inspect({ nonce: "line\nnext" }))).toBe("InvalidArgument");
  });
});
