/**
 * The `data` of each Server-Sent Event in a byte stream (WHATWG HTML, "Server-sent events",
 * §9.2.6 "Interpreting an event stream"): lines end in CRLF, LF or CR; a blank line dispatches
 * the event; `data:` lines are joined with "\n"; one space after the colon is dropped; comment
 * lines (`:` first) and other fields (`event`, `id`, `retry`) are not needed by chat completions.
 * Bytes may be split anywhere — inside a UTF-8 character, a line or a CRLF — so nothing is
 * decided before its line is complete. A last event without its blank line is dropped, as the
 * spec says: the caller notices the stream ended early.
 */
export async function* sseData(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffer = "";
  let data: string[] = [];
  let first = true;
  // Yields the data of each event completed in `buffer`; at the end a last CR is a line end too.
  const lines = function* (atEnd: boolean): Generator<string> {
    for (;;) {
      const end = buffer.search(/\r\n|\r|\n/);
      // A CR at the very end may be the first half of a CRLF split across chunks: wait for more.
      if (end < 0 || (!atEnd && end === buffer.length - 1 && buffer[end] === "\r")) return;
      const line = buffer.slice(0, end);
      buffer = buffer.slice(end + (buffer.startsWith("\r\n", end) ? 2 : 1));
      if (line === "") {
        if (data.length > 0) yield data.join("\n");
        data = [];
      } else if (line.startsWith("data")) {
        const rest = line.slice(4);
        if (rest === "") data.push("");
        else if (rest.startsWith(":")) data.push(rest.slice(rest.startsWith(": ") ? 2 : 1));
      }
    }
  };
  for await (const chunk of chunks) {
    buffer += decoder.decode(chunk, { stream: true });
    if (first && buffer.length > 0) {
      // A leading byte-order mark is not part of the first field name.
      if (buffer.charCodeAt(0) === 0xfeff) buffer = buffer.slice(1);
      first = false;
    }
    yield* lines(false);
  }
  buffer += decoder.decode();
  yield* lines(true);
}
