import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { Code, ConnectError } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { AuthService } from "#gen/supportext/auth/v1/auth_pb.js";
import type { TestIssuer } from "#kit/testing/test-issuer.js";
import type { TestUser } from "./harness.js";

export interface LoginStub {
  readonly url: string;
  /** Logins answered (successful or not) and logouts received, to check the CLI's hygiene. */
  readonly logins: number;
  readonly logouts: number;
  close(): Promise<void>;
}

/**
 * A stand-in for the identity provider's `supportext.auth.v1.AuthService` (Login, Logout) on
 * loopback, issuing real user access tokens (audience `audience`, the API audience) from the test
 * issuer: the MCP server's tests need a login, not the whole chat service.
 */
export async function startLoginStub(
  issuer: TestIssuer,
  audience: string,
  users: readonly (TestUser & { password: string })[],
): Promise<LoginStub> {
  let logins = 0;
  let logouts = 0;
  const handler = connectNodeAdapter({
    routes: (router) =>
      router.service(AuthService, {
        async login(req) {
          logins++;
          const user = users.find((u) => u.email === req.email && u.password === req.password);
          if (!user) throw new ConnectError("invalid email or password", Code.Unauthenticated);
          const accessToken = await issuer.mint({
            sub: user.sub,
            email: user.email,
            roles: user.roles,
            scope: user.scope,
            aud: audience,
          });
          return {
            tokens: { accessToken, refreshToken: `refresh-${user.sub}`, tokenType: "Bearer", expiresIn: 900 },
            user: { id: user.sub, email: user.email, roles: user.roles, scopes: user.scope.split(" ") },
          };
        },
        async logout() {
          logouts++;
          return {};
        },
      }),
  });
  const server = http.createServer(handler);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get logins() {
      return logins;
    },
    get logouts() {
      return logouts;
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
