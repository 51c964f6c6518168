// Tokens as legitimate callers hold them (docs/identity.md, docs/architecture.md "The delegation
// chain"): a user's login, the agent service's client-credentials token naming its agent, and an
// MCP-audience token from the RFC 8693 exchange the gateway makes. All of them come from the
// identity service (IDENTITY), never from chat.
import encoding from "k6/encoding";
import http from "k6/http";
import { AUTH, rpc } from "./connect.js";
import {
  AGENT_CLIENT_SECRET,
  AGENT_ID,
  GATEWAY_CLIENT_ID,
  GATEWAY_CLIENT_SECRET,
  IDENTITY,
  MCP_RESOURCE,
} from "./env.js";

const ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token";

/** Logs in; returns {ok, res, token, refreshToken, userId, email, sessionId} (only ok and res on failure). */
export function login(email, password, tags) {
  const res = rpc(IDENTITY, AUTH, "Login", { email: email, password: password }, { tags: tags });
  if (res.status !== 200) return { ok: false, res: res };
  return {
    ok: true,
    res: res,
    token: res.json("tokens.accessToken"),
    refreshToken: res.json("tokens.refreshToken"),
    userId: res.json("user.id"),
    email: res.json("user.email"),
    sessionId: res.json("sessionId"),
  };
}

// RFC 6749 §2.3.1: id and secret form-urlencoded, then Basic.
function basic(id, secret) {
  return `Basic ${encoding.b64encode(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`)}`;
}

function tokenRequest(clientId, secret, form, tags) {
  return http.post(`${IDENTITY}/oauth2/token`, form, {
    headers: { Authorization: basic(clientId, secret) },
    tags: Object.assign({ rpc: "token" }, tags || {}),
  });
}

// Per VU: a service token lives SERVICE_TOKEN_TTL (5 min); renewed 30 s ahead, as its holder does.
const cached = {};

/** The agent service's token for the gateway, naming AGENT_ID: what the agent sends the gateway. */
export function agentServiceToken() {
  const key = `mcp-gateway/${AGENT_ID}`;
  const hit = cached[key];
  if (hit && hit.expiresAt - 30000 > Date.now()) return hit.token;
  const res = tokenRequest("agent", AGENT_CLIENT_SECRET, {
    grant_type: "client_credentials",
    audience: "mcp-gateway",
    agent_id: AGENT_ID,
  });
  if (res.status !== 200) throw new Error(`agent client credentials: ${res.status} ${res.body}`);
  cached[key] = { token: res.json("access_token"), expiresAt: Date.now() + res.json("expires_in") * 1000 };
  return cached[key].token;
}

/**
 * An MCP-audience token for `userToken`, exchanged the way the gateway does: as the gateway client,
 * with the agent service's token as actor_token, for MCP_RESOURCE. Returns the response too.
 */
export function exchangeForMcp(userToken, tags) {
  const res = tokenRequest(
    GATEWAY_CLIENT_ID,
    GATEWAY_CLIENT_SECRET,
    {
      grant_type: "urn:ietf:params:oauth:grant-type:token-exchange",
      subject_token: userToken,
      subject_token_type: ACCESS_TOKEN_TYPE,
      requested_token_type: ACCESS_TOKEN_TYPE,
      actor_token: agentServiceToken(),
      actor_token_type: ACCESS_TOKEN_TYPE,
      resource: MCP_RESOURCE,
    },
    tags,
  );
  return {
    ok: res.status === 200,
    token: res.status === 200 ? res.json("access_token") : undefined,
    res: res,
  };
}
