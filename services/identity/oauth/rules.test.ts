import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { isS256Challenge, verifierMatches } from "./pkce.js";
import { matchRedirectUri, redirectUriProblem } from "./redirect-uris.js";
import { grantedScopes } from "./scopes.js";

describe("redirect URIs (RFC 8252, OAuth 2.1 §2.3.1)", () => {
  it("registers https, loopback http and reverse-domain private schemes only", () => {
    for (const ok of [
      "https://app.example/cb",
      "http://127.0.0.1:3000/cb",
      "http://[::1]/cb",
      "http://localhost:6274/oauth/callback",
      "com.example.app:/cb",
    ]) {
      expect(redirectUriProblem(ok), ok).toBeUndefined();
    }
    for (const bad of [
      "http://app.example/cb",
      "https://a.example/cb#x",
      "https://u:p@a.example/cb",
      "javascript:alert(1)",
      "data:text/html,x",
      "myapp:/cb",
      "/relative",
      "",
    ]) {
      expect(redirectUriProblem(bad), bad).toBeDefined();
    }
  });

  it("matches exactly, except the port of a loopback URI", () => {
    const registered = ["https://app.example/cb", "http://127.0.0.1:4711/callback"];
    expect(matchRedirectUri("https://app.example/cb", registered)).toBe("https://app.example/cb");
    expect(matchRedirectUri("http://127.0.0.1:9999/callback", registered)).toBe(
      "http://127.0.0.1:4711/callback",
    );
    expect(matchRedirectUri("http://127.0.0.1/callback", registered)).toBe("http://127.0.0.1:4711/callback");
    for (const other of [
      "https://app.example/cb/",
      "https://APP.example/cb",
      "https://app.example/cb?x=1",
      "https://app.example:444/cb",
      "http://127.0.0.1:9999/callback/",
      "http://127.0.0.1:9999/Callback",
      "http://localhost:4711/callback",
      "http://127.0.0.1:9999/x/../callback",
    ]) {
      expect(matchRedirectUri(other, registered), other).toBeUndefined();
    }
  });
});

describe("PKCE (RFC 7636, S256 only)", () => {
  it("accepts the verifier of the challenge and nothing else", () => {
    const verifier = "a".repeat(43);
    const challenge = createHash("sha256").update(verifier).digest("base64url");
    expect(isS256Challenge(challenge)).toBe(true);
    expect(verifierMatches(verifier, challenge)).toBe(true);
    expect(verifierMatches("b".repeat(43), challenge)).toBe(false);
    // plain: the challenge itself presented as the verifier is not S256.
    expect(verifierMatches(challenge, challenge)).toBe(false);
    expect(verifierMatches("short", challenge)).toBe(false);
    expect(isS256Challenge("plain-challenge")).toBe(false);
  });
});

describe("granted scopes", () => {
  const agent = ["tickets:read", "tickets:write", "integrations:read", "system:read"];
  it("is asked ∩ held, unknown dropped; nothing asked is everything held", () => {
    expect(grantedScopes("tickets:read tickets:delete bogus", agent)).toEqual(["tickets:read"]);
    expect(grantedScopes(undefined, agent)).toEqual(agent);
    expect(grantedScopes("audit:read", agent)).toEqual([]);
  });
});
