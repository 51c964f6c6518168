// Load users' logins, made in setup() so that a short run measures calls, not ten scrypt logins
// racing the first iterations (each login costs ~150 ms of CPU: docs/identity.md). Virtual user n
// gets load user n's session (`npm run load-users -- N`, N ≥ VUS).
import { LOAD_USER_PASSWORD, loadUserEmail, VUS } from "./env.js";
import { login } from "./oauth.js";

/** Sessions of load users 1..VUS; a failed login is null (counted by the caller's `failed`). */
export function loginLoadUsers(failed) {
  const sessions = [];
  for (let n = 1; n <= VUS; n++) {
    const s = login(loadUserEmail(n), LOAD_USER_PASSWORD, { phase: "setup" });
    if (!s.ok) {
      failed.add(1);
      console.error(
        `login of ${loadUserEmail(n)} failed: ${s.res.status} (run npm run load-users -- ${VUS}?)`,
      );
    }
    sessions.push(
      s.ok ? { token: s.token, refreshToken: s.refreshToken, userId: s.userId, email: s.email } : null,
    );
  }
  return sessions;
}

/** This virtual user's session (a copy: a VU may rotate its refresh token), or null. */
export function mySession(data) {
  const s = data.sessions[__VU - 1];
  return s ? Object.assign({}, s) : null;
}
