// Connect protocol server streaming over HTTP/1.1 with k6/http: the request is one enveloped JSON
// message (flags, 4-byte big-endian length, body), the response a series of envelopes ending with
// an end-stream one (flag 0x02) whose JSON holds the error, if any (connectrpc.com/docs/protocol).
import http from "k6/http";

function utf8Encode(text) {
  const bytes = [];
  for (const ch of text) {
    const c = ch.codePointAt(0);
    if (c < 0x80) bytes.push(c);
    else if (c < 0x800) bytes.push(0xc0 | (c >> 6), 0x80 | (c & 63));
    else if (c < 0x10000) bytes.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    else bytes.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
  }
  return bytes;
}

function utf8Decode(bytes, from, to) {
  let out = "";
  let i = from;
  while (i < to) {
    const b = bytes[i];
    let c;
    if (b < 0x80) {
      c = b;
      i += 1;
    } else if (b < 0xe0) {
      c = ((b & 31) << 6) | (bytes[i + 1] & 63);
      i += 2;
    } else if (b < 0xf0) {
      c = ((b & 15) << 12) | ((bytes[i + 1] & 63) << 6) | (bytes[i + 2] & 63);
      i += 3;
    } else {
      c = ((b & 7) << 18) | ((bytes[i + 1] & 63) << 12) | ((bytes[i + 2] & 63) << 6) | (bytes[i + 3] & 63);
      i += 4;
    }
    out += String.fromCodePoint(c);
  }
  return out;
}

function envelope(message) {
  const body = utf8Encode(JSON.stringify(message));
  const buf = new Uint8Array(5 + body.length);
  const n = body.length;
  buf.set([0, (n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255], 0);
  buf.set(body, 5);
  return buf.buffer;
}

/**
 * Calls a server-streaming method; returns {res, messages, error} where `error` is the end-stream
 * error ({code, message}) or undefined, and `messages` the decoded JSON messages in order.
 */
export function serverStream(base, service, method, request, token, timeout) {
  const headers = { "Content-Type": "application/connect+json", "Connect-Protocol-Version": "1" };
  if (token) headers.Authorization = `Bearer ${token}`;
  const res = http.post(`${base}/${service}/${method}`, envelope(request), {
    headers: headers,
    responseType: "binary",
    timeout: timeout || "60s",
    tags: { rpc: method },
  });
  const messages = [];
  let error;
  let ended = false;
  if (res.status === 200 && res.body) {
    const bytes = new Uint8Array(res.body);
    let at = 0;
    while (at + 5 <= bytes.length) {
      const flags = bytes[at];
      const n = ((bytes[at + 1] << 24) | (bytes[at + 2] << 16) | (bytes[at + 3] << 8) | bytes[at + 4]) >>> 0;
      const json = JSON.parse(utf8Decode(bytes, at + 5, at + 5 + n) || "{}");
      at += 5 + n;
      if (flags & 2) {
        ended = true;
        error = json.error;
      } else messages.push(json);
    }
  }
  if (res.status === 200 && !ended) error = { code: "truncated", message: "no end-stream message" };
  if (res.status !== 200) error = { code: `http_${res.status}`, message: String(res.body) };
  return { res: res, messages: messages, error: error };
}
