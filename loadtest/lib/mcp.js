// MCP streamable HTTP as a direct client speaks it (docs/mcp-server.md): initialize once per
// virtual user (the session is bound to the token's principal), then JSON-RPC tools/call.
import http from "k6/http";
import { MCP } from "./env.js";

const PROTOCOL_VERSION = "2025-06-18";

function headers(token, sessionId) {
  const h = { "Content-Type": "application/json", Accept: "application/json, text/event-stream" };
  if (token) h.Authorization = `Bearer ${token}`;
  if (sessionId) {
    h["Mcp-Session-Id"] = sessionId;
    h["Mcp-Protocol-Version"] = PROTOCOL_VERSION;
  }
  return h;
}

/** Opens a session for `token` (undefined: the development-anonymous principal); returns its id. */
export function openSession(token, tags) {
  const init = http.post(
    `${MCP}/mcp`,
    JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: {
        protocolVersion: PROTOCOL_VERSION,
        capabilities: {},
        clientInfo: { name: "k6", version: "1" },
      },
    }),
    { headers: headers(token), tags: Object.assign({ rpc: "mcp_initialize" }, tags || {}) },
  );
  const sessionId = init.headers["Mcp-Session-Id"];
  if (init.status !== 200 || !sessionId) return { ok: false, res: init };
  http.post(`${MCP}/mcp`, JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }), {
    headers: headers(token, sessionId),
    tags: Object.assign({ rpc: "mcp_initialized" }, tags || {}),
    responseCallback: http.expectedStatuses(200, 202),
  });
  return { ok: true, sessionId: sessionId };
}

let nextId = 2;

/**
 * tools/call `name` with `args` in `sessionId` (none: served statelessly); `expect` lists statuses
 * that are not failures (a refusal probe). Returns {res, result} (the JSON-RPC result or undefined).
 */
export function callTool(token, sessionId, name, args, expect) {
  const params = { headers: headers(token, sessionId), tags: { rpc: "mcp_tools_call" } };
  if (expect) params.responseCallback = http.expectedStatuses.apply(null, expect);
  const res = http.post(
    `${MCP}/mcp`,
    JSON.stringify({
      jsonrpc: "2.0",
      id: nextId++,
      method: "tools/call",
      params: { name: name, arguments: args },
    }),
    params,
  );
  let result;
  if (res.status === 200) {
    try {
      result = res.json("result");
    } catch (_) {
      result = undefined;
    }
  }
  return { res: res, result: result };
}
