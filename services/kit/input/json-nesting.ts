/**
 * How deeply a JSON text nests, counted without parsing it and without recursion: brackets outside
 * string literals. Stops counting once past `limit`, so hostile input costs one linear scan.
 *
 * Why it is needed: `JSON.parse` takes any depth, but the MCP SDK serialises what it is given
 * again with `JSON.stringify` (the gateway's client the arguments, the MCP server's request
 * handling the whole body), which is recursive and overflows the stack on a few thousand levels —
 * a caller's bad input would come back as an internal error instead of theirs
 * (docs/mcp-gateway.md, "Faults"; docs/mcp-server.md, "Endpoints").
 */
export function exceedsNesting(json: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < json.length; i++) {
    const c = json.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (++depth > limit) return true;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) depth--;
  }
  return false;
}
