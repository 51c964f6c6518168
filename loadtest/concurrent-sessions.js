// Many users at once, no token mixing (the product's reason to exist, README.md): every virtual
// user logs in as ITS OWN load user (`npm run load-users -- N`, N ≥ VUS), opens threads, chats,
// has the agent create a ticket carrying a unique marker (LTU<vu>I<iteration>R<random>), and checks
// that everything it sees — WhoAmI at the identity service, the turn's tool result, get_ticket and
// list_tickets through the gateway (as the agent service calls it), its thread list — and, in
// teardown, everything the MCP server's audit trail recorded for the markers, belongs to the user
// the marker names.
// Any stranger's data is a `token_mixups`; any refused credential an `auth_failures`.
import { check, sleep } from "k6";
import { Counter, Trend } from "k6/metrics";
import { AUDIT_SVC, AUTH, CHAT_SVC, codeOf, GATEWAY_SVC, rpc } from "./lib/connect.js";
import {
  ADMIN_EMAIL,
  ADMIN_PASSWORD,
  AGENT_ID,
  CHAT,
  constantScenario,
  GATEWAY,
  IDENTITY,
  loadUserEmail,
  MCP,
  TREND_STATS,
} from "./lib/env.js";
import { agentServiceToken, login } from "./lib/oauth.js";
import { loginLoadUsers, mySession } from "./lib/sessions.js";
import { summaryFor } from "./lib/summary.js";

const tokenMixups = new Counter("token_mixups");
const authFailures = new Counter("auth_failures");
const ticketsChecked = new Counter("tickets_checked");
const auditRowsChecked = new Counter("audit_rows_checked");
const chatTurn = new Trend("chat_turn", true);
const gatewayCall = new Trend("gateway_calltool", true);

export const options = {
  scenarios: constantScenario("sessions"),
  summaryTrendStats: TREND_STATS,
  // The audit walk in teardown reads every marked row of the run.
  teardownTimeout: "120s",
  thresholds: {
    token_mixups: ["count==0"],
    auth_failures: ["count==0"],
    http_req_failed: ["rate<0.001"],
    checks: ["rate>0.999"],
    chat_turn: ["p(99)<2000"],
    gateway_calltool: ["p(99)<250"],
  },
};

const MARKER = /LTU(\d+)I\d+R\d+/;

/** The virtual user a marker names, or undefined for text without one. */
function ownerOf(text) {
  const m = MARKER.exec(text || "");
  return m ? Number(m[1]) : undefined;
}

export function setup() {
  return { since: new Date().toISOString(), sessions: loginLoadUsers(authFailures) };
}

let me;
let iteration = 0;

/** Counts a refused credential; true when the response is one. */
function refused(res) {
  const code = codeOf(res);
  if (code === "unauthenticated") authFailures.add(1);
  return code === "unauthenticated";
}

function gateway(tool, args) {
  const res = rpc(
    GATEWAY,
    GATEWAY_SVC,
    "CallTool",
    { name: tool, argumentsJson: JSON.stringify(args) },
    { token: me.token, serviceToken: agentServiceToken(), tags: { tool: tool } },
  );
  gatewayCall.add(res.timings.duration);
  refused(res);
  if (res.status !== 200 || res.json("isError")) return undefined;
  return JSON.parse(res.json("structuredContentJson") || "null");
}

/** A ticket seen by this user: created by them, and any marker in it theirs. */
function checkTicket(ticket, where) {
  ticketsChecked.add(1);
  const owner = ownerOf(ticket.title);
  const mine = ticket.created_by === me.userId && (owner === undefined || owner === __VU);
  if (!mine) {
    tokenMixups.add(1);
    console.error(
      `token mixup (${where}): VU ${__VU} (${me.userId}) saw ticket ${ticket.id} "${ticket.title}" by ${ticket.created_by}`,
    );
  }
  return mine;
}

export default function (data) {
  if (!me) me = mySession(data);
  if (!me) {
    sleep(1);
    return;
  }
  const marker = `LTU${__VU}I${iteration++}R${Math.floor(Math.random() * 1e9)}`;

  const who = rpc(IDENTITY, AUTH, "WhoAmI", {}, { token: me.token });
  if (!refused(who) && who.status === 200 && who.json("user.id") !== me.userId) tokenMixups.add(1);

  const thread = rpc(
    CHAT,
    CHAT_SVC,
    "CreateThread",
    { agentId: AGENT_ID, title: `Load ${marker}` },
    { token: me.token },
  );
  if (refused(thread) || !check(thread, { "thread created": (r) => r.status === 200 })) return;
  const threadId = thread.json("thread.id");

  const turn = rpc(
    CHAT,
    CHAT_SVC,
    "SendMessage",
    { threadId: threadId, content: `create a ticket: Load check ${marker}, low priority` },
    { token: me.token, timeout: "30s" },
  );
  chatTurn.add(turn.timings.duration);
  if (refused(turn) || !check(turn, { "turn answered": (r) => r.status === 200 })) return;
  const calls = turn.json("assistantMessage.toolCalls") || [];
  const created = calls.filter(
    (c) => c.name === "create_ticket" && c.status === "TOOL_CALL_STATUS_SUCCEEDED",
  )[0];
  if (!check(created, { "the agent created the ticket": (c) => c !== undefined })) return;
  const ticket = JSON.parse(created.structuredResultJson).ticket;
  check(ticket, { "ticket carries this turn's marker": (t) => t.title.indexOf(marker) >= 0 });
  checkTicket(ticket, "turn result");

  const got = gateway("get_ticket", { ticket_id: ticket.id });
  if (check(got, { "get_ticket answered": (g) => g !== undefined && g !== null })) {
    checkTicket(got.ticket, "get_ticket");
  }
  const page = gateway("list_tickets", { created_by: "me", limit: 20 });
  if (check(page, { "list_tickets answered": (p) => p !== undefined && p !== null })) {
    for (const t of page.tickets) checkTicket(t, "list_tickets");
    check(page, { "list_tickets shows the new ticket": (p) => p.tickets.some((t) => t.id === ticket.id) });
  }

  const threads = rpc(CHAT, CHAT_SVC, "ListThreads", { pageSize: 100 }, { token: me.token });
  if (!refused(threads) && check(threads, { "threads listed": (r) => r.status === 200 })) {
    const list = threads.json("threads") || [];
    for (const t of list) {
      const owner = ownerOf(t.title);
      if (owner !== undefined && owner !== __VU) tokenMixups.add(1);
    }
    check(list, { "thread list shows the new thread": (l) => l.some((t) => t.id === threadId) });
  }
}

/** Every audited create_ticket of the run that carries a marker was made by the marker's user, through the agent. */
export function teardown(data) {
  const admin = login(ADMIN_EMAIL, ADMIN_PASSWORD);
  if (!admin.ok) {
    authFailures.add(1);
    return;
  }
  let until = "";
  for (let page = 0; page < 100; page++) {
    const filter = { tool: "create_ticket", since: data.since, limit: 1000 };
    if (until) filter.until = until;
    const res = rpc(MCP, AUDIT_SVC, "ListAuditEntries", filter, { token: admin.token, timeout: "60s" });
    if (refused(res) || !check(res, { "audit trail read": (r) => r.status === 200 })) return;
    const entries = res.json("entries") || [];
    for (const e of entries) {
      // biome-ignore lint/complexity/useOptionalChain: k6 v0.48's compiler has no optional chaining
      const owner = ownerOf(e.arguments && e.arguments.title);
      if (owner === undefined) continue;
      auditRowsChecked.add(1);
      const chain = (e.actorChain || []).map((a) => `${a.sub}${a.agent ? `(${a.agent})` : ""}`).join(" <- ");
      if (e.email !== loadUserEmail(owner) || chain !== `mcp-gateway <- agent(${AGENT_ID})`) {
        tokenMixups.add(1);
        console.error(`audit row ${e.id}: marker of VU ${owner} recorded for ${e.email} via ${chain}`);
      }
    }
    if (entries.length < 1000) break;
    until = entries[entries.length - 1].at;
  }
  const verify = rpc(MCP, AUDIT_SVC, "VerifyAuditChain", {}, { token: admin.token, timeout: "60s" });
  check(verify, { "audit chain intact": (r) => r.status === 200 && r.json("intact") === true });
}

export const handleSummary = summaryFor("concurrent-sessions");
