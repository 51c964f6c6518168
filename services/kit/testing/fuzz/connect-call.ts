/**
 * One Connect-protocol call with a body built by hand (connect.build/docs/protocol): a fuzz must
 * send what no generated client would — a lone surrogate escaped in JSON, JSON declared as
 * protobuf, broken JSON — and read the answer's code whatever it is.
 */
export interface ConnectCall {
  /** e.g. http://127.0.0.1:8084 */
  readonly baseUrl: string;
  /** `/<package>.<Service>/<Method>` */
  readonly path: string;
  /** Server-streaming methods use the enveloped streaming content types. */
  readonly streaming: boolean;
  readonly codec: "json" | "proto";
  readonly body: Uint8Array;
  readonly headers: Readonly<Record<string, string>>;
  /** A stream that never ends by itself (a feed): its first message counts as `ok`. */
  readonly endless?: boolean;
  readonly timeoutMs: number;
}

export interface ConnectOutcome {
  /** The Connect code (`invalid_argument`, …), `ok`, or `no answer`. */
  readonly code: string;
  /** The HTTP status, undefined without an answer. */
  readonly status: number | undefined;
}

const END_STREAM = 0x02;

export async function callConnect(call: ConnectCall): Promise<ConnectOutcome> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), call.timeoutMs);
  try {
    const res = await fetch(`${call.baseUrl}${call.path}`, {
      method: "POST",
      headers: {
        ...call.headers,
        "content-type": `application/${call.streaming ? "connect+" : ""}${call.codec}`,
        "connect-protocol-version": "1",
      },
      body: call.streaming ? envelope(call.body) : call.body,
      signal: abort.signal,
    });
    if (!call.streaming || res.status !== 200) {
      if (res.status === 200) {
        await res.arrayBuffer();
        return { code: "ok", status: 200 };
      }
      return { code: errorCode(await res.text(), res.status), status: res.status };
    }
    return { code: await streamCode(res, call.endless === true), status: res.status };
  } catch {
    return { code: "no answer", status: undefined };
  } finally {
    clearTimeout(timer);
    // An endless stream left after its first message: the connection is let go here.
    abort.abort();
  }
}

function envelope(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(5 + payload.byteLength);
  new DataView(out.buffer).setUint32(1, payload.byteLength);
  out.set(payload, 5);
  return out;
}

// The Connect unary error body is {"code": "...", "message": "..."}; anything else names the status.
function errorCode(text: string, status: number): string {
  try {
    const code = (JSON.parse(text) as { code?: unknown }).code;
    if (typeof code === "string") return code;
  } catch {
    // not a Connect error body
  }
  return `http ${status}`;
}

/** Reads the enveloped frames until the end-stream message; its error's code, or `ok`. */
async function streamCode(res: Response, endless: boolean): Promise<string> {
  if (!res.body) return "http 200 without a body";
  let buffered = Buffer.alloc(0);
  for await (const chunk of res.body) {
    buffered = Buffer.concat([buffered, chunk]);
    while (buffered.length >= 5) {
      const length = buffered.readUInt32BE(1);
      if (buffered.length < 5 + length) break;
      const flags = buffered[0] ?? 0;
      const payload = buffered.subarray(5, 5 + length).toString("utf8");
      buffered = buffered.subarray(5 + length);
      if (flags & END_STREAM) {
        const end = JSON.parse(payload) as { error?: { code?: string } };
        return end.error ? (end.error.code ?? "unknown") : "ok";
      }
      if (endless) return "ok";
    }
  }
  return "stream ended without end-stream";
}
