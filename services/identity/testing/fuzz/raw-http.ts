import { connect } from "node:net";

/** One HTTP/1.1 request as bytes: anything may be in it (tests of hostile input). */
export interface RawRequest {
  readonly method: string;
  /** The request target, as sent (may hold bytes a client library would refuse). */
  readonly target: string | Buffer;
  /** Header fields in order; values as latin1 text or raw bytes. */
  readonly headers: readonly (readonly [string, string | Buffer])[];
  readonly body?: Buffer;
  /** Send the body with chunked transfer coding instead of Content-Length. */
  readonly chunked?: boolean;
}

/** The request's bytes, with Host and `Connection: close` added and the body framed. */
export function encodeRequest(req: RawRequest, host: string): Buffer {
  const line = (text: string | Buffer) => (typeof text === "string" ? Buffer.from(text, "latin1") : text);
  const parts: Buffer[] = [
    line(`${req.method} `),
    line(req.target),
    line(` HTTP/1.1\r\nhost: ${host}\r\nconnection: close\r\n`),
  ];
  for (const [name, value] of req.headers) parts.push(line(`${name}: `), line(value), line("\r\n"));
  const body = req.body ?? Buffer.alloc(0);
  if (req.chunked) {
    parts.push(line("transfer-encoding: chunked\r\n\r\n"));
    for (let at = 0; at < body.length; at += 1000) {
      const piece = body.subarray(at, at + 1000);
      parts.push(line(`${piece.length.toString(16)}\r\n`), piece, line("\r\n"));
    }
    parts.push(line("0\r\n\r\n"));
  } else {
    parts.push(line(`content-length: ${body.length}\r\n\r\n`), body);
  }
  return Buffer.concat(parts);
}

/**
 * Sends `bytes` on a fresh connection and resolves with the response's status code, or undefined
 * when the server closed the connection without a status line (or `timeoutMs` passed).
 */
export function sendRaw(
  host: string,
  port: number,
  bytes: Buffer,
  timeoutMs: number,
): Promise<number | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    let head = "";
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(head);
      resolve(m ? Number(m[1]) : undefined);
    };
    const timer = setTimeout(finish, timeoutMs);
    socket.on("data", (chunk: Buffer) => {
      head += chunk.toString("latin1");
      if (head.includes("\r\n")) finish();
    });
    socket.on("error", finish);
    socket.on("close", finish);
    socket.on("connect", () => socket.write(bytes));
  });
}
