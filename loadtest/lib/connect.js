// Connect protocol unary calls as JSON over HTTP/1.1 (k6/http cannot speak h2c; see
// docs/architecture.md, "One port, three protocols"). Errors come back as an HTTP status with
// {"code": "...", "message": "..."}.
import http from "k6/http";

const JSON_HEADERS = { "Content-Type": "application/json", "Connect-Protocol-Version": "1" };

/**
 * POST {base}/{service}/{method}. `opts`: token (the user's bearer), serviceToken (the calling
 * service's, in x-service-authorization), tags, expect (statuses counted as not failed, e.g. [404]
 * for a probe that must be refused), timeout.
 */
export function rpc(base, service, method, body, opts) {
  const o = opts || {};
  const headers = Object.assign({}, JSON_HEADERS);
  if (o.token) headers.Authorization = `Bearer ${o.token}`;
  if (o.serviceToken) headers["x-service-authorization"] = `Bearer ${o.serviceToken}`;
  const params = { headers: headers, tags: Object.assign({ rpc: method }, o.tags || {}) };
  if (o.expect) params.responseCallback = http.expectedStatuses.apply(null, o.expect);
  if (o.timeout) params.timeout = o.timeout;
  return http.post(`${base}/${service}/${method}`, JSON.stringify(body || {}), params);
}

/** The Connect error code of a response ("ok" for 200). */
export function codeOf(res) {
  if (res.status === 200) return "ok";
  try {
    return res.json("code") || `http_${res.status}`;
  } catch (_) {
    return `http_${res.status}`;
  }
}

export const AUTH = "supportext.auth.v1.AuthService";
export const CHAT_SVC = "supportext.chat.v1.ChatService";
export const GATEWAY_SVC = "supportext.mcpgateway.v1.McpGatewayService";
export const AGENT_SVC = "supportext.agent.v1.AgentService";
export const AUDIT_SVC = "supportext.audit.v1.AuditService";
