import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ADMIN,
  AGENT,
  type Harness,
  initializeBody,
  startHarness,
  structured,
  VIEWER,
} from "./testing/harness.js";

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());

const PROTOCOL = { "mcp-protocol-version": "2025-11-25" };
const listTools = (id = 3) => ({ jsonrpc: "2.0", id, method: "tools/list", params: {} });
const getHealth = {
  jsonrpc: "2.0",
  id: 4,
  method: "tools/call",
  params: { name: "get_system_health", arguments: {} },
};

describe("MCP sessions are bound to the principal that opened them", () => {
  it("refuses a session id replayed with another user's token, audits it, and the owner carries on", async () => {
    const owner = await h.connect(await h.token(AGENT));
    const sessionId = (owner.transport as { sessionId?: string }).sessionId as string;
    expect(sessionId).toMatch(/^[0-9a-f-]{36}$/);
    const mark = h.logs.lines.length;

    // ADMIN may call get_system_health, so only the session binding refuses this.
    const res = await h.post(getHealth, {
      authorization: `Bearer ${await h.token(ADMIN)}`,
      "mcp-session-id": sessionId,
      ...PROTOCOL,
    });
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({
      id: 4,
      error: { message: "Forbidden: this MCP session belongs to another principal" },
    });
    const list = await h.post(listTools(), {
      authorization: `Bearer ${await h.token(VIEWER)}`,
      "mcp-session-id": sessionId,
      ...PROTOCOL,
    });
    expect(list.status).toBe(403);

    const { rows } = await h.db.query<{
      user_id: string;
      tool: string;
      outcome: string;
      error_code: string;
      session_id: string;
    }>("SELECT user_id, tool, outcome, error_code, session_id FROM audit_log WHERE session_id = $1", [
      sessionId,
    ]);
    expect(rows).toEqual([
      {
        user_id: ADMIN.sub,
        tool: "get_system_health",
        outcome: "refused",
        error_code: "session_not_owned",
        session_id: sessionId,
      },
    ]);
    const warn = h.logs
      .records()
      .slice(mark)
      .find((l) => l.msg === "MCP session refused: it belongs to another principal");
    expect(warn).toMatchObject({
      level: "warn",
      user_id: ADMIN.sub,
      session_user_id: AGENT.sub,
      session_id: sessionId,
    });

    const health = structured(await owner.callTool({ name: "get_system_health", arguments: {} }));
    expect(health).toMatchObject({ status: "ok" });
    const ownRows = await h.count(
      "SELECT count(*) AS n FROM audit_log WHERE session_id = $1 AND user_id = $2 AND outcome = 'ok'",
      [sessionId, AGENT.sub],
    );
    expect(ownRows).toBe(1);
  });

  it("treats the same user acting through another agent as another principal", async () => {
    const viaAssistant = await h.connect(
      await h.token(AGENT, { act: { sub: "mcp-gateway", agent: "support-assistant" } }),
    );
    const sessionId = (viaAssistant.transport as { sessionId?: string }).sessionId as string;
    const other = await h.token(AGENT, { act: { sub: "mcp-gateway", agent: "ticket-reader" } });
    const res = await h.post(listTools(), {
      authorization: `Bearer ${other}`,
      "mcp-session-id": sessionId,
      ...PROTOCOL,
    });
    expect(res.status).toBe(403);
    // A fresh token of the very same principal (new jti, e.g. after a refresh) may continue the session.
    const same = await h.token(AGENT, { act: { sub: "mcp-gateway", agent: "support-assistant" } });
    const ok = await h.post(listTools(), {
      authorization: `Bearer ${same}`,
      "mcp-session-id": sessionId,
      ...PROTOCOL,
    });
    expect(ok.status).toBe(200);
  });

  it("a session lives within the login that opened it: the same user signed in again cannot carry it on, and its login's revocation closes it", async () => {
    const login = { sid: `login-${AGENT.sub}-${Date.now()}` };
    const client = await h.connect(await h.token(AGENT, login));
    const sessionId = (client.transport as { sessionId?: string }).sessionId as string;
    // A refreshed token of that login carries on.
    const refreshed = await h.post(listTools(), {
      authorization: `Bearer ${await h.token(AGENT, login)}`,
      "mcp-session-id": sessionId,
      ...PROTOCOL,
    });
    expect(refreshed.status).toBe(200);
    // A token of another login of the same user does not.
    const again = await h.post(listTools(), {
      authorization: `Bearer ${await h.token(AGENT, { sid: `${login.sid}-again` })}`,
      "mcp-session-id": sessionId,
      ...PROTOCOL,
    });
    expect(again.status).toBe(403);
    // The login revoked (logout): the session is closed at once, before any request of it.
    h.feed.revoke(login.sid);
    await expect
      .poll(
        () =>
          h.logs
            .records()
            .some(
              (r) =>
                r.msg === "MCP session closed: its login session was revoked" && r.session_id === sessionId,
            ),
        { timeout: 30_000 },
      )
      .toBe(true);
    const after = await h.post(listTools(), {
      authorization: `Bearer ${await h.token(AGENT)}`,
      "mcp-session-id": sessionId,
      ...PROTOCOL,
    });
    expect(after.status).toBe(404);
  });

  it("refuses the GET event stream of a session to another principal, and to no token", async () => {
    // Opened by hand: the SDK client would hold the session's one GET stream itself.
    const init = await h.post(initializeBody(), { authorization: `Bearer ${await h.token(AGENT)}` });
    const sessionId = init.headers.get("mcp-session-id") as string;
    const stream = (token: string | undefined) =>
      fetch(h.mcpUrl, {
        headers: {
          accept: "text/event-stream",
          "mcp-session-id": sessionId,
          ...PROTOCOL,
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
      });
    const stranger = await stream(await h.token(VIEWER));
    expect(stranger.status).toBe(403);
    expect(stranger.headers.get("content-type")).toMatch(/^application\/json/);
    const anonymous = await stream(undefined);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("www-authenticate")).toMatch(/^Bearer resource_metadata="/);
    // The owner's stream opens (and is closed again by the test).
    const own = await stream(await h.token(AGENT));
    expect(own.status).toBe(200);
    expect(own.headers.get("content-type")).toMatch(/^text\/event-stream/);
    await own.body?.cancel();
  });

  it("refuses a session id without a token (401) and an unknown session id (404)", async () => {
    const owner = await h.connect(await h.token(ADMIN));
    const sessionId = (owner.transport as { sessionId?: string }).sessionId as string;
    expect((await h.post(listTools(), { "mcp-session-id": sessionId, ...PROTOCOL })).status).toBe(401);
    const unknown = await h.post(listTools(), {
      authorization: `Bearer ${await h.token(ADMIN)}`,
      "mcp-session-id": "3f1e0c2a-0000-4000-8000-000000000000",
      ...PROTOCOL,
    });
    expect(unknown.status).toBe(404);
  });

  it("lets only the owner end a session; afterwards its id is unknown", async () => {
    const token = await h.token(VIEWER);
    const init = await h.post(initializeBody(), { authorization: `Bearer ${token}` });
    const sessionId = init.headers.get("mcp-session-id") as string;
    const before = h.server.activeSessions();
    const stranger = await fetch(h.mcpUrl, {
      method: "DELETE",
      headers: { authorization: `Bearer ${await h.token(ADMIN)}`, "mcp-session-id": sessionId, ...PROTOCOL },
    });
    expect(stranger.status).toBe(403);
    const del = await fetch(h.mcpUrl, {
      method: "DELETE",
      headers: { authorization: `Bearer ${token}`, "mcp-session-id": sessionId, ...PROTOCOL },
    });
    expect(del.status).toBe(200);
    expect(h.server.activeSessions()).toBe(before - 1);
    expect(
      (
        await h.post(listTools(), {
          authorization: `Bearer ${token}`,
          "mcp-session-id": sessionId,
          ...PROTOCOL,
        })
      ).status,
    ).toBe(404);
  });

  it("logs what the SDK transport refuses as a warning", async () => {
    const token = await h.token(AGENT);
    const owner = await h.connect(token);
    const sessionId = (owner.transport as { sessionId?: string }).sessionId as string;
    const mark = h.logs.lines.length;
    const res = await h.post(listTools(), {
      authorization: `Bearer ${token}`,
      "mcp-session-id": sessionId,
      accept: "application/json",
      ...PROTOCOL,
    });
    expect(res.status).toBe(406);
    const warn = h.logs
      .records()
      .slice(mark)
      .find((l) => l.msg === "MCP protocol error");
    expect(warn).toMatchObject({ level: "warn", user_id: AGENT.sub });
    expect(warn?.err).toMatchObject({ message: expect.stringMatching(/^Not Acceptable/) });
    expect(h.logs.lines.slice(mark).join("\n")).not.toContain(token);
  });

  it("serves a request without a session statelessly, still authenticated and audited", async () => {
    const res = await h.post(getHealth, { authorization: `Bearer ${await h.token(ADMIN)}`, ...PROTOCOL });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { result: { structuredContent: { status: string } } };
    expect(body.result.structuredContent.status).toBe("ok");
    const { rows } = await h.db.query<{ user_id: string; session_id: string | null }>(
      "SELECT user_id, session_id FROM audit_log ORDER BY id DESC LIMIT 1",
    );
    expect(rows[0]).toEqual({ user_id: ADMIN.sub, session_id: null });
    expect((await h.post(getHealth, PROTOCOL)).status).toBe(401);
  });
});

describe("session lifetime", () => {
  it("closes idle sessions and, when full, the one its owner used least recently", async () => {
    const small = await startHarness({ env: { MCP_SESSION_IDLE: "1s", MCP_MAX_SESSIONS: "2" } });
    try {
      const open = async () => {
        const token = await small.token(ADMIN);
        const res = await small.post(initializeBody(), { authorization: `Bearer ${token}` });
        return { token, id: res.headers.get("mcp-session-id") as string };
      };
      const use = (s: { token: string; id: string }) =>
        small
          .post(listTools(), { authorization: `Bearer ${s.token}`, "mcp-session-id": s.id, ...PROTOCOL })
          .then((r) => r.status);
      const a = await open();
      const b = await open();
      expect(await use(a)).toBe(200); // a is now the most recently used
      // A stranger presenting b's id is refused and does not count as use of b.
      const stranger = await small.token(VIEWER);
      expect(await use({ token: stranger, id: b.id })).toBe(403);
      const c = await open(); // full: b (least recently used by its owner) goes
      expect(small.server.activeSessions()).toBe(2);
      expect(await use(b)).toBe(404);
      expect(await use(a)).toBe(200);
      expect(await use(c)).toBe(200);
      await new Promise((r) => setTimeout(r, 2_500));
      expect(small.server.activeSessions()).toBe(0);
      expect(await use(a)).toBe(404);
      expect(small.logs.records().some((l) => l.msg === "MCP session closed after being idle")).toBe(true);
    } finally {
      await small.close();
    }
  });
});
