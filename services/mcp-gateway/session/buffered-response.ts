/**
 * A whole answer already read into memory, shaped like the `Response` the MCP SDK's transport
 * reads: `ok`, `status`, `statusText`, `headers`, `text()`, `json()` (docs/performance.md,
 * "Per-call breakdown: gateway"). A WHATWG `Response` around a buffer builds a body stream and
 * reads it back through promises on every call — ~20 µs where `JSON.parse` of the same bytes is
 * ~2 µs — for an answer the gateway already holds whole. A body can be read once, as with fetch.
 */
export class BufferedResponse {
  readonly type = "basic";
  readonly redirected = false;
  readonly url: string;
  readonly ok: boolean;
  readonly statusText = "";
  private used = false;

  constructor(
    private readonly bytes: Buffer | null,
    readonly status: number,
    readonly headers: Headers,
    url: string,
  ) {
    this.ok = status >= 200 && status < 300;
    this.url = url;
  }

  get bodyUsed(): boolean {
    return this.used;
  }

  /** Never streamed: only SSE answers are, and those stay WHATWG Responses. */
  get body(): null {
    return null;
  }

  async text(): Promise<string> {
    return this.take().toString("utf8");
  }

  async json(): Promise<unknown> {
    return JSON.parse(this.take().toString("utf8"));
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    const b = this.take();
    return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
  }

  private take(): Buffer {
    if (this.used) throw new TypeError("Body is unusable: Body has already been read");
    this.used = true;
    return this.bytes ?? Buffer.alloc(0);
  }
}
