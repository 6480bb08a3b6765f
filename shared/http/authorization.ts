import { z } from 'zod';
import type { Helpdesk } from '../helpdesk/settings.js';
import { ApiError } from './errors.js';

/**
 * Who may manage a helpdesk (read or change its settings, import, list and retry its mail). In Azure,
 * App Service authentication (Easy Auth) signs the caller in with Microsoft Entra ID, refuses anyone
 * unauthenticated, and passes the caller's claims in `x-ms-client-principal`: base64 of
 * `{ auth_typ, claims: [{ typ, val }], name_typ, role_typ }`. App Service removes that header from
 * incoming requests, so only the platform can set it, but only when authentication is on: with it off, a
 * caller could write the header. Hence entra mode also needs WEBSITE_AUTH_ENABLED=True, which App Service
 * sets when it is on. Each helpdesk's settings then name the Entra group ids and app roles it admits.
 * All pure apart from reading the request's header.
 */

export interface Caller {
  /** Entra object id, or the name when there is none. */
  id: string;
  name: string;
  groups: string[];
  roles: string[];
}

const principalSchema = z.object({
  auth_typ: z.string(),
  claims: z.array(z.object({ typ: z.string(), val: z.string() })),
  name_typ: z.string().optional(),
  role_typ: z.string().optional(),
});

const ROLE_CLAIMS = ['roles', 'http://schemas.microsoft.com/ws/2008/06/identity/claims/role'];
const GROUP_CLAIMS = ['groups', 'http://schemas.microsoft.com/ws/2008/06/identity/claims/groups'];
const OBJECT_ID_CLAIMS = ['oid', 'http://schemas.microsoft.com/identity/claims/objectidentifier'];
const NAME_CLAIMS = ['name', 'preferred_username', 'appid', 'azp'];

/** The caller from an `x-ms-client-principal` header; null when missing, malformed or not from Entra. */
export function callerFromPrincipal(header: string | null): Caller | null {
  if (!header) return null;
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(header, 'base64').toString('utf8'));
  } catch {
    return null;
  }
  const principal = principalSchema.safeParse(decoded);
  if (!principal.success || principal.data.auth_typ.toLowerCase() !== 'aad') return null;
  const { claims, name_typ, role_typ } = principal.data;
  const values = (types: Array<string | undefined>) =>
    claims.filter((claim) => types.includes(claim.typ)).map((claim) => claim.val);
  const name = values([name_typ, ...NAME_CLAIMS])[0] ?? '';
  return {
    id: values(OBJECT_ID_CLAIMS)[0] ?? name,
    name,
    groups: values(GROUP_CLAIMS).map((group) => group.toLowerCase()),
    roles: values([role_typ, ...ROLE_CLAIMS]),
  };
}

export interface ManagementAccessInput {
  mode: 'entra' | 'none';
  /** WEBSITE_AUTH_ENABLED as App Service sets it. */
  platformAuthentication: string | undefined;
  principalHeader: string | null;
  /** The helpdesk the call is about; null when there is none. */
  helpdesk: Helpdesk | null;
}

/**
 * Throws the ApiError the call gets when it may not go on. An unknown helpdesk is refused like a
 * helpdesk the caller may not manage, so that helpdesk ids cannot be probed.
 */
export function checkManagementAccess(input: ManagementAccessInput): Caller | null {
  const caller = checkSignedIn(input);
  if (!caller) return null;
  const admitted = input.helpdesk?.importer.administrators;
  const allowed =
    !!admitted &&
    (caller.groups.some((group) => admitted.groupIds.includes(group)) ||
      caller.roles.some((role) => admitted.appRoles.includes(role)));
  if (!allowed) throw new ApiError('forbidden', 'you may not manage this helpdesk');
  return caller;
}

/**
 * The signed-in caller, whatever helpdesks they may manage (the console page, which names none); null
 * without sign-in (mode none). Throws like checkManagementAccess.
 */
export function checkSignedIn(input: Omit<ManagementAccessInput, 'helpdesk'>): Caller | null {
  if (input.mode === 'none') return null;
  if (input.platformAuthentication?.toLowerCase() !== 'true') {
    throw new ApiError(
      'authenticationNotConfigured',
      'management calls need App Service authentication, which is off for this app',
    );
  }
  const caller = callerFromPrincipal(input.principalHeader);
  if (!caller) throw new ApiError('unauthenticated', 'sign in with Microsoft Entra ID');
  return caller;
}
