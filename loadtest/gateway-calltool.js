// Warm CallTool through the MCP gateway from many users at once, each virtual user as its own
// load user and presenting what the agent service presents there: its client-credentials token
// naming the agent (x-service-authorization) plus the user's bearer (docs/architecture.md, "The
// delegation chain"). One gateway session and one exchanged token per user, never shared.
// Stock k6 (v0.48 and current): no object spread, no optional chaining (v0.48's compiler lacks them).
//
//   npm run load-users -- 10 && k6 run loadtest/gateway-calltool.js     (env: loadtest/README.md)
import { check, sleep } from "k6";
import { Counter, Trend } from "k6/metrics";
import { codeOf, GATEWAY_SVC, rpc } from "./lib/connect.js";
import { constantScenario, GATEWAY, TREND_STATS } from "./lib/env.js";
import { agentServiceToken } from "./lib/oauth.js";
import { loginLoadUsers, mySession } from "./lib/sessions.js";
import { summaryFor } from "./lib/summary.js";

const callTool = new Trend("gateway_calltool", true);
const authFailures = new Counter("auth_failures");

export const options = {
  scenarios: constantScenario("calltool"),
  summaryTrendStats: TREND_STATS,
  thresholds: {
    auth_failures: ["count==0"],
    http_req_failed: ["rate<0.001"],
    checks: ["rate>0.999"],
    gateway_calltool: ["p(99)<250"],
  },
};

export function setup() {
  return { sessions: loginLoadUsers(authFailures) };
}

let me;

export default function (data) {
  if (!me) me = mySession(data);
  if (!me) {
    sleep(1);
    return;
  }
  const res = rpc(
    GATEWAY,
    GATEWAY_SVC,
    "CallTool",
    { name: "list_tickets", argumentsJson: JSON.stringify({ limit: 5 }) },
    { token: me.token, serviceToken: agentServiceToken() },
  );
  if (codeOf(res) === "unauthenticated") authFailures.add(1);
  check(res, { "list_tickets ok": (r) => r.status === 200 && r.json("isError") !== true });
  callTool.add(res.timings.duration);
}

export const handleSummary = summaryFor("gateway-calltool");
