// What authentication costs under load (the product's "under 10 ms auth overhead"): the same
// get_ticket call through the gateway and straight at the MCP server, authenticated — with a
// reused token, and with a new token every iteration (the verifiers' caches never hit) — versus
// the development-anonymous arm on the same path. Every virtual user runs every arm in rotating
// order, so the arms share the same load. handleSummary prints the differences (p50, p99).
//
// Credentials are a legitimate caller's: at the gateway the agent service's token naming its agent
// plus the user's bearer; at the MCP server a token exchanged as the gateway exchanges it.
// The anonymous arms need a stack started with AUTH_DEV_ANONYMOUS=1 (development only, refused in
// production) and DEV_ANONYMOUS=1 here. Without them (the product's default) those arms are probes
// that must be refused: `anonymous_accepted` counts any that is not.
import { check, sleep } from "k6";
import { Counter, Trend } from "k6/metrics";
import { AUTH, codeOf, GATEWAY_SVC, rpc } from "./lib/connect.js";
import { ADMIN_EMAIL, ADMIN_PASSWORD, constantScenario, GATEWAY, IDENTITY, TREND_STATS } from "./lib/env.js";
import { callTool, openSession } from "./lib/mcp.js";
import { agentServiceToken, exchangeForMcp, login } from "./lib/oauth.js";
import { loginLoadUsers, mySession } from "./lib/sessions.js";
import { summaryFor } from "./lib/summary.js";

const DEV_ANONYMOUS = __ENV.DEV_ANONYMOUS === "1";
const BUDGET_MS = 10;

const ARMS = ["gateway_auth_reused", "gateway_auth_new_token", "mcp_auth_reused", "mcp_auth_new_token"];
const ANON_ARMS = ["gateway_anonymous", "mcp_anonymous"];
const trends = {};
for (const arm of ARMS.concat(ANON_ARMS)) trends[arm] = new Trend(arm, true);
const authFailures = new Counter("auth_failures");
const anonymousAccepted = new Counter("anonymous_accepted");

const thresholds = {
  auth_failures: ["count==0"],
  http_req_failed: ["rate<0.001"],
  checks: ["rate>0.999"],
};
for (const arm of ARMS) thresholds[arm] = ["p(99)<250"];
if (!DEV_ANONYMOUS) thresholds.anonymous_accepted = ["count==0"];

export const options = {
  scenarios: constantScenario("arms"),
  summaryTrendStats: TREND_STATS,
  thresholds: thresholds,
};

// One small ticket every arm reads, created by the administrator through the gateway.
export function setup() {
  const admin = login(ADMIN_EMAIL, ADMIN_PASSWORD);
  if (!admin.ok) throw new Error(`admin login failed: ${admin.res.status} ${admin.res.body}`);
  const res = rpc(
    GATEWAY,
    GATEWAY_SVC,
    "CallTool",
    {
      name: "create_ticket",
      argumentsJson: JSON.stringify({ title: "auth-overhead probe", priority: "low" }),
    },
    { token: admin.token, serviceToken: agentServiceToken() },
  );
  if (res.status !== 200 || res.json("isError")) throw new Error(`create_ticket: ${res.status} ${res.body}`);
  return {
    ticketId: JSON.parse(res.json("structuredContentJson")).ticket.id,
    sessions: loginLoadUsers(authFailures),
  };
}

let me; // {token, refreshToken, mcpToken, mcpSession, anonSession}

function gatewayCall(token, ticketId, expect) {
  return rpc(
    GATEWAY,
    GATEWAY_SVC,
    "CallTool",
    { name: "get_ticket", argumentsJson: JSON.stringify({ ticket_id: ticketId }) },
    { token: token, serviceToken: agentServiceToken(), expect: expect },
  );
}

function start(data) {
  const session = mySession(data);
  if (!session) return undefined;
  const mcp = exchangeForMcp(session.token);
  if (!mcp.ok) return undefined;
  const opened = openSession(mcp.token);
  if (!opened.ok) return undefined;
  const state = { token: session.token, refreshToken: session.refreshToken, mcpToken: mcp.token };
  state.mcpSession = opened.sessionId;
  if (DEV_ANONYMOUS) {
    const anon = openSession(undefined);
    if (!anon.ok) return undefined;
    state.anonSession = anon.sessionId;
  }
  return state;
}

// A new access token of the same login session (Refresh at the identity service), outside the timed call.
function newUserToken() {
  const res = rpc(IDENTITY, AUTH, "Refresh", { refreshToken: me.refreshToken });
  if (res.status !== 200) return undefined;
  me.refreshToken = res.json("tokens.refreshToken");
  return res.json("tokens.accessToken");
}

const runArm = {
  gateway_auth_reused: (t) => timedGateway("gateway_auth_reused", me.token, t),
  gateway_auth_new_token: (t) => {
    const token = newUserToken();
    if (!token) return authFailures.add(1);
    me.token = token;
    timedGateway("gateway_auth_new_token", token, t);
  },
  gateway_anonymous: (t) => {
    if (DEV_ANONYMOUS) return timedGateway("gateway_anonymous", undefined, t);
    const res = gatewayCall(undefined, t, [401]);
    if (res.status !== 401) anonymousAccepted.add(1);
  },
  mcp_auth_reused: (t) => timedMcp("mcp_auth_reused", me.mcpToken, me.mcpSession, t),
  mcp_auth_new_token: (t) => {
    const mcp = exchangeForMcp(me.token);
    if (!mcp.ok) return authFailures.add(1);
    me.mcpToken = mcp.token;
    timedMcp("mcp_auth_new_token", mcp.token, me.mcpSession, t);
  },
  mcp_anonymous: (t) => {
    if (DEV_ANONYMOUS) return timedMcp("mcp_anonymous", undefined, me.anonSession, t);
    const res = callTool(undefined, undefined, "get_ticket", { ticket_id: t }, [401]);
    if (res.res.status !== 401) anonymousAccepted.add(1);
  },
};

function timedGateway(arm, token, ticketId) {
  const res = gatewayCall(token, ticketId);
  if (codeOf(res) === "unauthenticated") authFailures.add(1);
  check(res, { "get_ticket via gateway ok": (r) => r.status === 200 && r.json("isError") !== true });
  trends[arm].add(res.timings.duration);
}

function timedMcp(arm, token, sessionId, ticketId) {
  const out = callTool(token, sessionId, "get_ticket", { ticket_id: ticketId });
  if (out.res.status === 401) authFailures.add(1);
  check(out, { "get_ticket at MCP ok": (o) => o.result !== undefined && o.result.isError !== true });
  trends[arm].add(out.res.timings.duration);
}

const ORDER = ARMS.concat(ANON_ARMS);
let iteration = 0;

export default function (data) {
  if (!me) {
    me = start(data);
    if (!me) {
      if (mySession(data)) authFailures.add(1);
      sleep(1);
      return;
    }
  }
  // Rotating order: no arm always runs first (cold) or last.
  for (let i = 0; i < ORDER.length; i++) runArm[ORDER[(i + iteration) % ORDER.length]](data.ticketId);
  iteration++;
}

function p(data, metric, stat) {
  const values = (data.metrics[metric] || { values: {} }).values;
  return values.count ? values[stat] : undefined;
}

function differences(data) {
  const lines = ["  auth overhead = authenticated arm − anonymous arm on the same path (budget 10 ms)"];
  if (!DEV_ANONYMOUS) {
    lines.push(
      "    anonymous arms refused, as they must be with AUTH_DEV_ANONYMOUS off: no difference measured",
    );
    lines.push(
      "    (measure it on a stack started with AUTH_DEV_ANONYMOUS=1, running this with DEV_ANONYMOUS=1)",
    );
    return lines;
  }
  const pairs = [
    ["gateway_auth_reused", "gateway_anonymous"],
    ["gateway_auth_new_token", "gateway_anonymous"],
    ["mcp_auth_reused", "mcp_anonymous"],
    ["mcp_auth_new_token", "mcp_anonymous"],
  ];
  for (const pair of pairs) {
    const out = ["p(50)", "p(99)"].map((stat) => {
      const a = p(data, pair[0], stat);
      const b = p(data, pair[1], stat);
      if (a === undefined || b === undefined) return `${stat.replace("(", "").replace(")", "")} -`;
      const d = a - b;
      return `${stat.replace("(", "").replace(")", "")} ${d >= 0 ? "+" : ""}${d.toFixed(2)}ms${d > BUDGET_MS ? " (over the 10 ms budget)" : ""}`;
    });
    lines.push(`    ${pair[0]} − ${pair[1]}: ${out.join(", ")}`);
  }
  return lines;
}

export const handleSummary = summaryFor("auth-overhead", differences);
