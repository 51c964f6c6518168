import { describe, expect, it } from "vitest";
import { sseData } from "./sse-events.js";

async function parse(...pieces: (string | Uint8Array)[]): Promise<string[]> {
  const chunks = async function* () {
    for (const p of pieces) yield typeof p === "string" ? new TextEncoder().encode(p) : p;
  };
  const out: string[] = [];
  for await (const d of sseData(chunks())) out.push(d);
  return out;
}

describe("sseData", () => {
  it("dispatches on blank lines, joins data lines, skips comments and other fields", async () => {
    expect(
      await parse(
        ': keep-alive\n\nevent: x\nid: 1\ndata: a\ndata:b\n\ndata: {"k":1}\r\n\r\ndata: [DONE]\r\r',
      ),
    ).toEqual(["a\nb", '{"k":1}', "[DONE]"]);
  });

  it("copes with bytes split inside a UTF-8 character and a CRLF, and drops an unfinished last event", async () => {
    const bytes = new TextEncoder().encode("data: wörld\r\n\r\ndata: cut");
    const at = bytes.indexOf(0xc3) + 1; // inside "ö"
    const cr = bytes.indexOf(0x0d) + 1; // between CR and LF
    expect(await parse(bytes.slice(0, at), bytes.slice(at, cr), bytes.slice(cr))).toEqual(["wörld"]);
  });
});
