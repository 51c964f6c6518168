import * as http2 from "node:http2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listenOnePort, type OnePortListener } from "./one-port-listener.js";

let listener: OnePortListener;
let releaseSlowAnswers: () => void;
const slowAnswersReleased = new Promise<void>((resolve) => {
  releaseSlowAnswers = resolve;
});

beforeAll(async () => {
  // Answers once the whole body has arrived; "/slow" answers only when the test says so, long after
  // the request timeout, to show that a complete request is never cut short.
  listener = await listenOnePort(
    "127.0.0.1",
    0,
    (req, res) => {
      req.on("error", () => {});
      req.resume();
      req.on("end", () => {
        if (req.url === "/slow") void slowAnswersReleased.then(() => res.end("slow ok"));
        else res.end("ok");
      });
    },
    { h2RequestTimeoutMs: 100, h2IdleTimeoutMs: 600_000 },
  );
});
afterAll(() => listener.close(0));

function connect(): Promise<http2.ClientHttp2Session> {
  const session = http2.connect(`http://127.0.0.1:${listener.port}`);
  session.on("error", () => {});
  return new Promise((resolve) => session.once("connect", () => resolve(session)));
}

function closed(stream: http2.ClientHttp2Stream): Promise<{ rstCode: number; body: string }> {
  let body = "";
  stream.setEncoding("utf8");
  stream.on("data", (chunk: string) => {
    body += chunk;
  });
  stream.on("error", () => {});
  return new Promise((resolve) =>
    stream.once("close", () => resolve({ rstCode: stream.rstCode ?? -1, body })),
  );
}

describe("HTTP/2 request bodies that never complete", () => {
  it("1,000 streams that never end their body are all reset; a complete slow request is still answered", async () => {
    const session = await connect();
    const slow = session.request({ ":method": "POST", ":path": "/slow" });
    const slowDone = closed(slow);
    slow.end("a whole body");

    const stalled: Promise<{ rstCode: number; body: string }>[] = [];
    for (let i = 0; i < 1000; i++) {
      const stream = session.request({ ":method": "POST", ":path": `/stalled/${i}` }, { endStream: false });
      if (i % 2 === 0) stream.write("part of a body"); // some send a little, none ever finish
      stalled.push(closed(stream));
    }
    const results = await Promise.all(stalled);
    expect(results.filter((r) => r.rstCode === http2.constants.NGHTTP2_CANCEL)).toHaveLength(1000);
    expect(results.every((r) => r.body === "")).toBe(true);

    releaseSlowAnswers();
    expect(await slowDone).toEqual({ rstCode: http2.constants.NGHTTP2_NO_ERROR, body: "slow ok" });
    session.destroy();
  });

  it("a request without a body, or one that completes, is answered as usual", async () => {
    const session = await connect();
    const get = session.request({ ":method": "GET", ":path": "/" });
    const post = session.request({ ":method": "POST", ":path": "/" });
    post.end("body");
    expect(await closed(get)).toEqual({ rstCode: http2.constants.NGHTTP2_NO_ERROR, body: "ok" });
    expect(await closed(post)).toEqual({ rstCode: http2.constants.NGHTTP2_NO_ERROR, body: "ok" });
    session.destroy();
  });
});
