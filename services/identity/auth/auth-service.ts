import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import { AuthService, type TokenPairSchema, type UserSchema } from "#gen/supportext/auth/v1/auth_pb.js";
import { kPeerAddress, requirePrincipal } from "#kit/propagation/index.js";
import type { IssuedTokens } from "../provider/first-party-sessions.js";
import { clientAddressFrom } from "../throttle/client-address.js";
import type { UserRecord, UserStore } from "../users/user-store.js";
import type { Login } from "./login.js";
import type { Logout } from "./logout.js";
import type { Refresh } from "./refresh.js";

/** Procedures callable without a bearer token. */
export const PUBLIC_AUTH_PROCEDURES: ReadonlySet<string> = new Set(
  ["Login", "Refresh", "Logout"].map((m) => `${AuthService.typeName}/${m}`),
);

export interface AuthServiceDeps {
  readonly login: Login;
  readonly refresh: Refresh;
  readonly logout: Logout;
  readonly users: UserStore;
  readonly trustedProxyHops: number;
}

function userMessage(user: UserRecord): MessageInitShape<typeof UserSchema> {
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    roles: [...user.roles],
    scopes: [...user.scopes],
  };
}

function tokenPair(issued: IssuedTokens): MessageInitShape<typeof TokenPairSchema> {
  return {
    accessToken: issued.accessToken,
    refreshToken: issued.refreshToken,
    tokenType: "Bearer",
    accessTokenExpireTime: timestampFromMs(issued.accessTokenExpiresAt * 1000),
    refreshTokenExpireTime: timestampFromDate(issued.refreshTokenExpiresAt),
    expiresIn: issued.accessTokenTtlSec,
  };
}

function issuedResponse(issued: IssuedTokens) {
  return { tokens: tokenPair(issued), user: userMessage(issued.user), sessionId: issued.sessionId };
}

/** `supportext.auth.v1.AuthService` on the identity service: thin mapping from the proto to the flows. */
export function registerAuthService(router: ConnectRouter, deps: AuthServiceDeps): void {
  router.service(AuthService, {
    async login(req, ctx) {
      const address = clientAddressFrom(
        ctx.requestHeader.get("x-forwarded-for"),
        deps.trustedProxyHops,
        ctx.values.get(kPeerAddress),
      );
      return issuedResponse(await deps.login(req.email, req.password, address, ctx.signal));
    },
    async refresh(req) {
      return issuedResponse(await deps.refresh(req.refreshToken));
    },
    async logout(req) {
      await deps.logout(req.refreshToken);
      return {};
    },
    async whoAmI(_req, ctx) {
      const principal = requirePrincipal(ctx);
      if (principal.anonymous) {
        // AUTH_DEV_ANONYMOUS: there is no stored user; describe the development principal as it is.
        const { userId, email, roles, scopes, sessionId } = principal;
        return {
          user: {
            id: userId,
            email,
            name: "Development principal (AUTH_DEV_ANONYMOUS)",
            roles: [...roles],
            scopes: [...scopes],
          },
          sessionId,
          tokenScopes: [...scopes],
        };
      }
      const user = await deps.users.findById(principal.userId);
      if (!user) throw new ConnectError("the token's user no longer exists", Code.Unauthenticated);
      return {
        user: userMessage(user),
        sessionId: principal.sessionId,
        tokenScopes: [...principal.scopes],
        tokenExpireTime: timestampFromMs(principal.expiresAt * 1000),
      };
    },
  });
}
