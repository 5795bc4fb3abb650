/**
 * Who is calling, and for which tenants. Every `/v1` request is authenticated in an
 * `onRequest` hook installed by `createHttpServer`, before Fastify parses or validates
 * anything, so a request without a valid token learns nothing (401, never 400). The token is
 * looked up by its SHA-256 in a map: the configuration holds hashes only, and a lookup by
 * hash gives an attacker no timing signal about a token's leading characters. The caller's
 * {@link Principal} is attached to the request; routes answer only for its tenants.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { sha256Hex, type Credential, type Role } from '../config/credentials.js';

/** The authenticated caller: a configured token's name, role and tenants. */
export interface Principal {
  /** The token's name: the actor in audits and the key of rate limits. */
  name: string;
  role: Role;
  /** The tenants it may see; `null` for the operator roles (every tenant). */
  tenants: readonly string[] | null;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The caller of a `/v1` route (set by the access hook). */
    principal?: Principal;
  }
}

/** The configured tokens, by the SHA-256 of the token. */
export class Access {
  readonly #byHash: ReadonlyMap<string, Principal>;

  constructor(credentials: readonly Credential[]) {
    this.#byHash = new Map(
      credentials.map((c) => [c.sha256, Object.freeze({ name: c.name, role: c.role, tenants: c.tenants })]),
    );
  }

  /** True when at least one token is configured. */
  get configured(): boolean {
    return this.#byHash.size > 0;
  }

  /** The principal of a presented token, or `null` for an unknown one. */
  principalOf(token: string): Principal | null {
    return this.#byHash.get(sha256Hex(token)) ?? null;
  }
}

/** The tenants a principal may see; `null`: every tenant (operator roles). */
export function tenantsOf(p: Principal): readonly string[] | null {
  return p.tenants;
}

/** True when the principal may read the tenant's data. */
export function canRead(p: Principal, tenant: string): boolean {
  return p.tenants === null || p.tenants.includes(tenant);
}

/** True when the principal may export, erase, acknowledge and silence for the tenant. */
export function canAdmin(p: Principal, tenant: string): boolean {
  return (p.role === 'admin' || p.role === 'operator') && canRead(p, tenant);
}

/** True when the principal holds an admin role for some tenant. */
export function isAdmin(p: Principal): boolean {
  return p.role === 'admin' || p.role === 'operator';
}

/** An HTTP error for Fastify's error handler: its status and JSON `{error, code}`. */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The request's principal; a 401 when the access hook did not authenticate it (fail closed). */
export function principalOf(req: FastifyRequest): Principal {
  if (req.principal === undefined) throw new HttpError(401, 'UNAUTHORIZED', 'missing bearer token');
  return req.principal;
}

/** A 404 that reads the same for another tenant's meter as for an unknown one. */
export function notFound(what: string): HttpError {
  return new HttpError(404, 'NOT_FOUND', `no such ${what}`);
}

/** An `onRequest` hook that authenticates the bearer token and attaches the principal. */
export function authenticate(access: Access) {
  return async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (req.principal !== undefined) return;
    if (!access.configured) {
      return reply.status(403).send({ error: 'this route is disabled: no token configured', code: 'FORBIDDEN' });
    }
    const header = req.headers.authorization;
    const m = header === undefined ? null : /^Bearer (\S+)$/.exec(header);
    const principal = m === null ? null : access.principalOf(m[1]);
    if (principal === null) {
      return reply
        .status(401)
        .header('www-authenticate', 'Bearer')
        .send({ error: m === null ? 'missing bearer token' : 'invalid token', code: 'UNAUTHORIZED' });
    }
    req.principal = principal;
  };
}

/** An `onRequest` hook (after the access hook) refusing principals without an admin role: 403. */
export async function requireAdmin(req: FastifyRequest, reply: FastifyReply): Promise<void> {
  if (!isAdmin(principalOf(req)))
    return reply.status(403).send({ error: 'this route needs an admin or operator token', code: 'FORBIDDEN' });
}

/** Authenticates every `/v1` request of `app`, before routing's validation. */
export function installAccess(app: FastifyInstance, access: Access): void {
  const hook = authenticate(access);
  app.addHook('onRequest', async (req, reply) => {
    // The matched route's pattern where there is one, else the path (a 404 under /v1 too).
    const path = req.routeOptions.url ?? req.url.split('?')[0];
    if (path === '/v1' || path.startsWith('/v1/')) return hook(req, reply);
  });
}

/** A ClickHouse condition restricting `column` to the principal's tenants, with its parameter. */
export function tenantCondition(
  p: Principal,
  column = 'tenant',
): { sql: string; params: Record<string, readonly string[]> } {
  if (p.tenants === null) return { sql: '1', params: {} };
  return { sql: `${column} IN {principal_tenants:Array(String)}`, params: { principal_tenants: p.tenants } };
}
