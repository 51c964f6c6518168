// Warm CallTool through the MCP gateway, as many users would make it, over the Connect protocol's
// JSON on HTTP/1.1 (k6/http has no h2c). Runs on stock k6 (v0.48 and current): only k6/http,
// k6/metrics and check are used, and no object spread (v0.48's compiler lacks it).
//
//   npm start &                      # the stack on its defaults
//   ../shared/tools/k6 run loadtest/gateway-calltool.js
//
// Env: CHAT (default http://127.0.0.1:8080), GATEWAY (default http://127.0.0.1:8082),
// PASSWORD (admin's, default the development default), VUS (10), DURATION (20s).
import http from "k6/http";
import { check, fail } from "k6";
import { Trend } from "k6/metrics";

const CHAT = __ENV.CHAT || "http://127.0.0.1:8080";
const GATEWAY = __ENV.GATEWAY || "http://127.0.0.1:8082";
const JSON_HEADERS = { "Content-Type": "application/json", "Connect-Protocol-Version": "1" };
const callTool = new Trend("gateway_calltool", true);

export const options = {
  scenarios: {
    calltool: {
      executor: "constant-vus",
      vus: Number(__ENV.VUS || 10),
      duration: __ENV.DURATION || "20s",
    },
  },
  thresholds: {
    http_req_failed: ["rate<0.001"],
    "checks{check:ok}": ["rate>0.999"],
    gateway_calltool: ["p(99)<250"],
  },
};

export function setup() {
  const res = http.post(
    `${CHAT}/supportext.auth.v1.AuthService/Login`,
    JSON.stringify({ email: "admin@company.com", password: __ENV.PASSWORD || "admin-dev-password" }),
    { headers: JSON_HEADERS },
  );
  if (res.status !== 200) fail(`login failed: ${res.status} ${res.body}`);
  return { token: res.json("tokens.accessToken") };
}

export default function (data) {
  const res = http.post(
    `${GATEWAY}/supportext.mcpgateway.v1.McpGatewayService/CallTool`,
    JSON.stringify({ name: "list_tickets", argumentsJson: JSON.stringify({ limit: 5 }) }),
    { headers: Object.assign({ Authorization: `Bearer ${data.token}` }, JSON_HEADERS), tags: { rpc: "CallTool" } },
  );
  check(res, { ok: (r) => r.status === 200 && r.json("isError") !== true }, { check: "ok" });
  callTool.add(res.timings.duration);
}
