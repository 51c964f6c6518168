import { createHash } from "node:crypto";
import { type Adapter, type AdapterConstructor, type AdapterPayload, errors } from "oidc-provider";
import type { Queryable } from "#kit/db/index.js";

/**
 * The models whose rows belong to a grant: `revokeByGrantId` removes them all, whichever model's
 * adapter it is called on (the provider revokes a grant by calling it on several models, and skips
 * the ones the client's current grant types don't include, so one call must not depend on another).
 * Grant, Interaction and Session rows are not removed here: the provider destroys the Grant itself
 * when its revoke-grant policy says so.
 */
export const GRANT_BOUND_MODELS: readonly string[] = [
  "AccessToken",
  "AuthorizationCode",
  "RefreshToken",
  "DeviceCode",
  "BackchannelAuthenticationRequest",
  "PreAuthorizedCode",
];

/**
 * The models whose id is itself a credential — the token, code or cookie value a client presents:
 * stored under its SHA-256 only (the value is ≥ 256 random bits, so a fast unsalted hash is enough
 * and still allows lookup), and without the value in the payload (its `jti`, put back on read).
 * Whoever reads the database holds no usable code or token. Not hashed: clients and grants (their
 * ids name them and other rows refer to them), and the models the provider also finds by another
 * key, whose id it must get back from the row — sessions and interactions (browser cookies that
 * live 15 minutes here) and device codes (the device flow is off).
 */
const CREDENTIAL_MODELS: ReadonlySet<string> = new Set([
  "AccessToken",
  "AuthorizationCode",
  "RefreshToken",
  "ClientCredentials",
  "BackchannelAuthenticationRequest",
  "PreAuthorizedCode",
  "RegistrationAccessToken",
  "InitialAccessToken",
  "PushedAuthorizationRequest",
]);

/** The row key of `id` for `model`: the id itself, or `sha256:` + its digest for credentials. */
export function storedId(model: string, id: string): string {
  return CREDENTIAL_MODELS.has(model) ? `sha256:${createHash("sha256").update(id).digest("base64url")}` : id;
}

/**
 * `GRANT_BOUND_MODELS` as an SQL list, for `model IN (…)`: model names are the provider's own class
 * names, so they can be SQL literals.
 */
export const GRANT_BOUND_SQL = GRANT_BOUND_MODELS.map((m) => `'${m}'`).join(", ");

/** Expiry is checked on the database's clock, the same clock that set it (one clock, no skew). */
const LIVE = "(expires_at IS NULL OR expires_at > now())";

interface Row extends Record<string, unknown> {
  payload: AdapterPayload;
  consumed_at: Date | null;
}

const stringOrNull = (value: unknown): string | null => (typeof value === "string" ? value : null);

/**
 * When a stored payload already says it was consumed (the provider re-saving a consumed model), the
 * row is stored consumed: `consumed` is epoch seconds when the provider set it, any other truthy
 * value counts as "now".
 */
function consumedAtOf(consumed: unknown): string | null {
  if (consumed === undefined || consumed === null || consumed === false) return null;
  const ms = typeof consumed === "number" && Number.isFinite(consumed) ? consumed * 1000 : Date.now();
  return new Date(ms).toISOString();
}

/**
 * jsonb cannot hold U+0000 (PostgreSQL text cannot), and the provider stores request parameters
 * verbatim (an Interaction keeps the authorization request's `state`, `nonce`, …): such a payload is
 * refused as the client's bad request, not left to fail in the database as a server error.
 */
function toJsonb(payload: object): string {
  return JSON.stringify(payload, (key: string, value: unknown) => {
    if (key.includes("\0") || (typeof value === "string" && value.includes("\0"))) {
      throw new errors.InvalidRequest("parameters must not contain NUL characters");
    }
    return value;
  });
}

/** The payload as the provider expects it back: `consumed` (epoch seconds) comes from the column. */
function toPayload(row: Row | undefined): AdapterPayload | undefined {
  if (!row) return undefined;
  if (row.consumed_at === null) return row.payload;
  return { ...row.payload, consumed: Math.floor(row.consumed_at.getTime() / 1000) };
}

/**
 * The error a consume that lost must surface as. The provider checks `consumed` on what it found and
 * only then calls `consume`, so two concurrent redemptions of one code or refresh token both pass
 * the check; the conditional UPDATE lets exactly one of them consume, and the others must not be
 * answered with tokens (without it, three of eight concurrent refreshes with one token got tokens on
 * PostgreSQL: provider-on-sql.test.ts) (RFC 6749 §4.1.2 and §10.5: a code is single use; RFC 9700 §4.14.2: a rotated
 * refresh token is single use). Thrown as the provider's own error, so the client gets the answer
 * the provider gives a sequential replay (`invalid_grant`; `invalid_request_uri` for a pushed
 * authorization request) instead of a 500.
 */
export function alreadyConsumedError(model: string): Error {
  if (model === "PushedAuthorizationRequest") {
    return new errors.InvalidRequestUri("request_uri is invalid, expired, or was already used");
  }
  return new errors.InvalidGrant(`${model} was already consumed or is no longer valid`);
}

/**
 * oidc-provider's Adapter for one model over the kit's data layer (table `oidc_models`,
 * `oidc-migrations.ts`). Every method is one statement, so each is atomic on its own.
 */
export class SqlAdapter implements Adapter {
  /** Whether this model's ids are credentials, stored hashed (see CREDENTIAL_MODELS). */
  private readonly hashed: boolean;

  constructor(
    private readonly db: Queryable,
    readonly model: string,
  ) {
    this.hashed = CREDENTIAL_MODELS.has(model);
  }

  /**
   * Creates or replaces the row. `expiresIn` (seconds, from now) is optional: models without one
   * never expire here. A consumed row stays consumed when it is overwritten: consumption is final,
   * and a late re-save must not make a spent code or refresh token usable again.
   */
  async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
    const { consumed, ...kept } = payload;
    // A credential's value is not stored, not even as its payload's `jti` (find puts it back).
    const stored: AdapterPayload = this.hashed ? { ...kept, jti: undefined } : kept;
    const lifetime = typeof expiresIn === "number" && Number.isFinite(expiresIn) ? expiresIn : null;
    await this.db.query(
      `INSERT INTO oidc_models (model, id, payload, grant_id, user_code, uid, expires_at, consumed_at)
       VALUES ($1, $2, $3::jsonb, $4, $5, $6,
               now() + $7::float8 * interval '1 second', $8::timestamptz)
       ON CONFLICT (model, id) DO UPDATE SET
         payload = EXCLUDED.payload,
         grant_id = EXCLUDED.grant_id,
         user_code = EXCLUDED.user_code,
         uid = EXCLUDED.uid,
         expires_at = EXCLUDED.expires_at,
         consumed_at = COALESCE(oidc_models.consumed_at, EXCLUDED.consumed_at)`,
      [
        this.model,
        storedId(this.model, id),
        toJsonb(stored),
        stringOrNull(stored.grantId),
        stringOrNull(stored.userCode),
        stringOrNull(stored.uid),
        lifetime,
        consumedAtOf(consumed),
      ],
    );
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    const { rows } = await this.db.query<Row>(
      `SELECT payload, consumed_at FROM oidc_models WHERE model = $1 AND id = $2 AND ${LIVE}`,
      [this.model, storedId(this.model, id)],
    );
    const payload = toPayload(rows[0]);
    return payload && this.hashed ? { ...payload, jti: id } : payload;
  }

  /** Device flow (RFC 8628 §3.3): the code the user typed. Newest first should two ever collide. */
  async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    const { rows } = await this.db.query<Row>(
      `SELECT payload, consumed_at FROM oidc_models
        WHERE model = $1 AND user_code = $2 AND ${LIVE}
        ORDER BY expires_at DESC NULLS FIRST LIMIT 1`,
      [this.model, userCode],
    );
    return toPayload(rows[0]);
  }

  /** A Session by its fixed uid (its id changes when the provider rotates it). */
  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    const { rows } = await this.db.query<Row>(
      `SELECT payload, consumed_at FROM oidc_models
        WHERE model = $1 AND uid = $2 AND ${LIVE}
        ORDER BY expires_at DESC NULLS FIRST LIMIT 1`,
      [this.model, uid],
    );
    return toPayload(rows[0]);
  }

  /**
   * Marks a live, unconsumed row consumed, as one conditional UPDATE: of concurrent callers exactly
   * one succeeds; the others (and a row that expired or was revoked since it was found) get
   * `alreadyConsumedError`.
   */
  async consume(id: string): Promise<void> {
    const res = await this.db.query(
      `UPDATE oidc_models SET consumed_at = now()
        WHERE model = $1 AND id = $2 AND consumed_at IS NULL AND ${LIVE}`,
      [this.model, storedId(this.model, id)],
    );
    if (res.rowCount === 0) throw alreadyConsumedError(this.model);
  }

  async destroy(id: string): Promise<void> {
    await this.db.query("DELETE FROM oidc_models WHERE model = $1 AND id = $2", [
      this.model,
      storedId(this.model, id),
    ]);
  }

  /** Removes every grant-bound row of the grant, of all models (see `GRANT_BOUND_MODELS`). */
  async revokeByGrantId(grantId: string): Promise<void> {
    await this.db.query(`DELETE FROM oidc_models WHERE grant_id = $1 AND model IN (${GRANT_BOUND_SQL})`, [
      grantId,
    ]);
  }
}

/**
 * `configuration.adapter` for a provider storing in `db`: the provider constructs its adapters itself
 * with `new Adapter(modelName)`, so the database is bound into the class rather than passed.
 */
export function createSqlAdapterClass(db: Queryable): AdapterConstructor {
  return class BoundSqlAdapter extends SqlAdapter {
    constructor(model: string) {
      super(db, model);
    }
  };
}
