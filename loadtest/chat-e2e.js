// The extension's flow under load, end to end through all five services: log in at the identity
// service (once per virtual user, as its own load user), then at chat list agents, open a thread,
// send a message (unary SendMessage) and stream one (server-streaming StreamMessage over the
// Connect protocol on HTTP/1.1), then read the thread back. Every turn runs the agent's tool loop as the user on the MCP server.
import { check, sleep } from "k6";
import { Counter, Trend } from "k6/metrics";
import { CHAT_SVC, codeOf, rpc } from "./lib/connect.js";
import { serverStream } from "./lib/connect-stream.js";
import {
  AGENT_ID,
  CHAT,
  constantScenario,
  LOAD_USER_PASSWORD,
  loadUserEmail,
  TREND_STATS,
} from "./lib/env.js";
import { login } from "./lib/oauth.js";
import { summaryFor } from "./lib/summary.js";

const authFailures = new Counter("auth_failures");
const loginTime = new Trend("login", true);
const sendTurn = new Trend("send_message", true);
const streamFirst = new Trend("stream_message_first_byte", true);
const streamTurn = new Trend("stream_message", true);
const flow = new Trend("flow", true);

export const options = {
  scenarios: constantScenario("flow"),
  summaryTrendStats: TREND_STATS,
  thresholds: {
    auth_failures: ["count==0"],
    http_req_failed: ["rate<0.001"],
    checks: ["rate>0.999"],
    send_message: ["p(99)<2000"],
    stream_message: ["p(99)<2000"],
  },
};

let me;

function counted(res) {
  if (codeOf(res) === "unauthenticated") authFailures.add(1);
  return res;
}

export default function () {
  if (!me) {
    const session = login(loadUserEmail(__VU), LOAD_USER_PASSWORD);
    if (!session.ok) {
      authFailures.add(1);
      sleep(1);
      return;
    }
    loginTime.add(session.res.timings.duration);
    me = session;
  }
  const started = Date.now();
  const agents = counted(rpc(CHAT, CHAT_SVC, "ListAgents", {}, { token: me.token }));
  check(agents, {
    "agents listed": (r) => r.status === 200 && (r.json("agents") || []).some((a) => a.id === AGENT_ID),
  });

  const thread = counted(rpc(CHAT, CHAT_SVC, "CreateThread", { agentId: AGENT_ID }, { token: me.token }));
  if (!check(thread, { "thread created": (r) => r.status === 200 })) return;
  const threadId = thread.json("thread.id");

  const sent = counted(
    rpc(
      CHAT,
      CHAT_SVC,
      "SendMessage",
      { threadId: threadId, content: "list the last 5 open tickets" },
      { token: me.token, timeout: "30s" },
    ),
  );
  sendTurn.add(sent.timings.duration);
  check(sent, {
    "unary turn complete": (r) =>
      r.status === 200 && r.json("assistantMessage.status") === "MESSAGE_STATUS_COMPLETE",
  });

  const streamed = serverStream(
    CHAT,
    CHAT_SVC,
    "StreamMessage",
    { threadId: threadId, content: "show the ticket statistics" },
    me.token,
  );
  if (streamed.error && streamed.error.code === "unauthenticated") authFailures.add(1);
  streamFirst.add(streamed.res.timings.waiting);
  streamTurn.add(streamed.res.timings.duration);
  const last = streamed.messages[streamed.messages.length - 1];
  check(streamed, {
    "stream ended without error": (s) => s.error === undefined,
    "stream: user message, events, assistant message": (s) =>
      s.messages.length >= 3 &&
      s.messages[0].userMessage !== undefined &&
      last !== undefined &&
      last.assistantMessage !== undefined,
    "streamed turn complete": () =>
      last !== undefined &&
      last.assistantMessage !== undefined &&
      last.assistantMessage.status === "MESSAGE_STATUS_COMPLETE",
  });

  const messages = counted(rpc(CHAT, CHAT_SVC, "ListMessages", { threadId: threadId }, { token: me.token }));
  check(messages, {
    "thread holds both turns": (r) => r.status === 200 && (r.json("messages") || []).length === 4,
  });
  flow.add(Date.now() - started);
}

export const handleSummary = summaryFor("chat-e2e");
