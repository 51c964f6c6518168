// The services over gRPC (h2c) with k6's gRPC client and server reflection — no local protos —
// unary and server streaming, as grpcurl or another gRPC client would call them:
//   identity: AuthService/WhoAmI (each virtual user is its own load user, logged in by setup);
//   chat:     ChatService/ListAgents, CreateThread, and the streaming ChatService/StreamMessage
//             (the agent's Run, streamed on); then the thread renamed (UpdateThread) and deleted
//             (DeleteThread), after which it must be not_found, to its owner too;
//   gateway:  McpGatewayService/ListTools and CallTool, with the agent service's token naming its
//             agent (x-service-authorization) plus the user's bearer, as the agent calls it;
//   agent:    reflection, and AgentService/ListAgents as a user alone, which must be refused
//             (permission_denied): the agent serves chat only, and only chat can hold a credential
//             for it (docs/identity.md, "Clients"), so Run is reached through StreamMessage;
//   all four: grpc.health.v1 in teardown.
// Streams use k6/net/grpc's Stream (k6 ≥ v0.49) or k6/experimental/grpc's (v0.48).
import { check, sleep } from "k6";
import { Counter, Trend } from "k6/metrics";
import grpc from "k6/net/grpc";
import { AGENT, AGENT_ID, CHAT, constantScenario, GATEWAY, IDENTITY, TREND_STATS } from "./lib/env.js";
import { agentServiceToken } from "./lib/oauth.js";
import { loginLoadUsers, mySession } from "./lib/sessions.js";
import { summaryFor } from "./lib/summary.js";

const G = grpc.Stream ? grpc : require("k6/experimental/grpc");

const authFailures = new Counter("auth_failures");
const agentNotRefused = new Counter("agent_served_a_user_alone");
const streamErrors = new Counter("stream_errors");
const tokenMixups = new Counter("token_mixups");
const deletedStillThere = new Counter("deleted_thread_still_there");
const whoAmI = new Trend("grpc_identity_who_am_i", true);
const listAgents = new Trend("grpc_chat_list_agents", true);
const createThread = new Trend("grpc_chat_create_thread", true);
const streamTurn = new Trend("grpc_chat_stream_message", true);
const calltool = new Trend("grpc_gateway_calltool", true);
const listTools = new Trend("grpc_gateway_list_tools", true);
const tidyThread = new Trend("grpc_chat_rename_and_delete", true);

export const options = {
  scenarios: constantScenario("grpc"),
  summaryTrendStats: TREND_STATS,
  thresholds: {
    auth_failures: ["count==0"],
    agent_served_a_user_alone: ["count==0"],
    stream_errors: ["count==0"],
    token_mixups: ["count==0"],
    deleted_thread_still_there: ["count==0"],
    checks: ["rate>0.999"],
    grpc_gateway_calltool: ["p(99)<250"],
    grpc_chat_stream_message: ["p(99)<2000"],
  },
};

const address = (url) => url.replace(/^https?:\/\//, "");
let clients;
let me;

function connectAll() {
  const c = {
    identity: new G.Client(),
    chat: new G.Client(),
    agent: new G.Client(),
    gateway: new G.Client(),
  };
  c.identity.connect(address(IDENTITY), { plaintext: true, reflect: true });
  c.chat.connect(address(CHAT), { plaintext: true, reflect: true });
  c.agent.connect(address(AGENT), { plaintext: true, reflect: true });
  c.gateway.connect(address(GATEWAY), { plaintext: true, reflect: true });
  return c;
}

function timed(trend, fn) {
  const started = Date.now();
  const res = fn();
  trend.add(Date.now() - started);
  if (res && res.status === grpc.StatusUnauthenticated) authFailures.add(1);
  return res;
}

// Logins over Connect in setup: a virtual user's gRPC clients exist only inside it.
export function setup() {
  return { sessions: loginLoadUsers(authFailures) };
}

export default function (data) {
  if (!clients) clients = connectAll();
  if (!me && !signIn(data)) {
    sleep(1);
    return;
  }
  callUnary();
  callGateway();
  const refused = clients.agent.invoke("supportext.agent.v1.AgentService/ListAgents", {}, me.params);
  if (refused.status !== grpc.StatusPermissionDenied) agentNotRefused.add(1);

  const thread = timed(createThread, () =>
    clients.chat.invoke("supportext.chat.v1.ChatService/CreateThread", { agentId: AGENT_ID }, me.params),
  );
  if (!check(thread, { "chat CreateThread ok": (r) => r.status === grpc.StatusOK })) return;
  streamMessage(thread.message.thread.id);
}

// This virtual user's load user, logged in by setup; false while it has none.
function signIn(data) {
  const session = mySession(data);
  if (!session) return false;
  me = { userId: session.userId, params: { metadata: { authorization: `Bearer ${session.token}` } } };
  return true;
}

// Identity's WhoAmI (the caller must be this virtual user) and chat's ListAgents.
function callUnary() {
  const who = timed(whoAmI, () =>
    clients.identity.invoke("supportext.auth.v1.AuthService/WhoAmI", {}, me.params),
  );
  if (who.status === grpc.StatusOK && who.message.user.id !== me.userId) tokenMixups.add(1);
  check(who, { "identity WhoAmI ok": (r) => r.status === grpc.StatusOK });
  const agents = timed(listAgents, () =>
    clients.chat.invoke("supportext.chat.v1.ChatService/ListAgents", {}, me.params),
  );
  check(agents, { "chat ListAgents ok": (r) => r.status === grpc.StatusOK && r.message.agents.length > 0 });
}

// The gateway as the agent calls it: the agent service's token naming its agent, plus the user's bearer.
function callGateway() {
  const asAgent = {
    metadata: {
      authorization: me.params.metadata.authorization,
      "x-service-authorization": `Bearer ${agentServiceToken()}`,
    },
  };
  const tools = timed(listTools, () =>
    clients.gateway.invoke("supportext.mcpgateway.v1.McpGatewayService/ListTools", {}, asAgent),
  );
  check(tools, { "gateway ListTools ok": (r) => r.status === grpc.StatusOK && r.message.tools.length > 0 });
  const called = timed(calltool, () =>
    clients.gateway.invoke(
      "supportext.mcpgateway.v1.McpGatewayService/CallTool",
      { name: "list_tickets", argumentsJson: JSON.stringify({ limit: 5 }) },
      asAgent,
    ),
  );
  check(called, { "gateway CallTool ok": (r) => r.status === grpc.StatusOK && r.message.isError !== true });
}

// Server streaming: user message, the agent's events, the assistant message.
function streamMessage(threadId) {
  const started = Date.now();
  const seen = { user: false, events: 0, assistant: undefined };
  const stream = new G.Stream(clients.chat, "supportext.chat.v1.ChatService/StreamMessage", me.params);
  stream.on("data", (m) => {
    if (m.userMessage) seen.user = true;
    else if (m.runEvent) seen.events++;
    else if (m.assistantMessage) seen.assistant = m.assistantMessage;
  });
  stream.on("error", (e) => {
    streamErrors.add(1);
    if (e && e.code === grpc.StatusUnauthenticated) authFailures.add(1);
  });
  stream.on("end", () => {
    streamTurn.add(Date.now() - started);
    check(seen, {
      "stream: user message, events, complete assistant message": (s) =>
        s.user &&
        s.events > 0 &&
        s.assistant !== undefined &&
        s.assistant.status === "MESSAGE_STATUS_COMPLETE",
    });
    renameAndDelete(threadId);
  });
  stream.write({ threadId: threadId, content: "list the last 5 open tickets" });
  stream.end();
}

// The finished turn's thread renamed, then deleted: gone for its owner too, a second delete not_found.
function renameAndDelete(threadId) {
  const started = Date.now();
  const title = `load ${me.userId.slice(-6)} ${threadId.slice(0, 8)}`;
  const renamed = clients.chat.invoke(
    "supportext.chat.v1.ChatService/UpdateThread",
    { threadId: threadId, title: title },
    me.params,
  );
  check(renamed, {
    "chat UpdateThread ok, the new title": (r) =>
      r.status === grpc.StatusOK && r.message.thread.title === title,
  });
  const deleted = clients.chat.invoke(
    "supportext.chat.v1.ChatService/DeleteThread",
    { threadId: threadId },
    me.params,
  );
  tidyThread.add(Date.now() - started);
  check(deleted, { "chat DeleteThread ok": (r) => r.status === grpc.StatusOK });
  const after = clients.chat.invoke(
    "supportext.chat.v1.ChatService/GetThread",
    { threadId: threadId },
    me.params,
  );
  const again = clients.chat.invoke(
    "supportext.chat.v1.ChatService/DeleteThread",
    { threadId: threadId },
    me.params,
  );
  if (after.status !== grpc.StatusNotFound || again.status !== grpc.StatusNotFound) deletedStillThere.add(1);
}

export function teardown() {
  // Health answers on every service without a token (grpc.health.v1).
  const c = new G.Client();
  for (const url of [IDENTITY, CHAT, AGENT, GATEWAY]) {
    c.connect(address(url), { plaintext: true, reflect: true });
    const h = c.invoke("grpc.health.v1.Health/Check", {});
    check(h, { "health SERVING": (r) => r.status === grpc.StatusOK && r.message.status === "SERVING" });
    c.close();
  }
}

export const handleSummary = summaryFor("grpc");
