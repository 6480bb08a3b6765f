import { describe, expect, it } from 'vitest';
import {
  callerFromPrincipal,
  checkManagementAccess,
  checkSignedIn,
} from '../../shared/http/authorization.js';
import { ApiError, errorResponse } from '../../shared/http/errors.js';
import { testHelpdesk } from '../support/helpdeskFixtures.js';

const ADMINS = '0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0';
const OTHERS = '9f8e7d6c-5b4a-3928-1706-f5e4d3c2b1a0';

/** As App Service passes a user signed in with Entra ID: claims mapped, groups by object id. */
function userPrincipal(groups: string[], authType = 'aad'): string {
  return Buffer.from(
    JSON.stringify({
      auth_typ: authType,
      claims: [
        {
          typ: 'http://schemas.microsoft.com/identity/claims/objectidentifier',
          val: '1d2e3f40-aaaa-bbbb-cccc-123456789abc',
        },
        { typ: 'name', val: 'Tess Manager' },
        { typ: 'preferred_username', val: 'tess@contoso.com' },
        ...groups.map((group) => ({ typ: 'groups', val: group })),
      ],
      name_typ: 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress',
      role_typ: 'http://schemas.microsoft.com/ws/2008/06/identity/claims/role',
    }),
  ).toString('base64');
}

/** A daemon calling with a client-credentials token that carries an app role. */
function appPrincipal(role: string): string {
  return Buffer.from(
    JSON.stringify({
      auth_typ: 'aad',
      claims: [
        { typ: 'appid', val: 'c0ffee00-1111-2222-3333-444455556666' },
        { typ: 'roles', val: role },
      ],
      name_typ: 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name',
      role_typ: 'roles',
    }),
  ).toString('base64');
}

const helpdesk = testHelpdesk('alpha', 'desk@alpha.test', {
  administrators: { groupIds: [ADMINS.toUpperCase()], appRoles: ['Helpdesk.Manage'] },
});

function access(
  principalHeader: string | null,
  overrides: Partial<Parameters<typeof checkManagementAccess>[0]> = {},
) {
  return () =>
    checkManagementAccess({
      mode: 'entra',
      platformAuthentication: 'True',
      principalHeader,
      helpdesk,
      ...overrides,
    });
}

function code(run: () => unknown): string | null {
  try {
    run();
    return null;
  } catch (error) {
    return error instanceof ApiError ? error.code : 'not an ApiError';
  }
}

describe('callerFromPrincipal', () => {
  it('reads a user’s object id, name and groups', () => {
    expect(callerFromPrincipal(userPrincipal([ADMINS.toUpperCase()]))).toEqual({
      id: '1d2e3f40-aaaa-bbbb-cccc-123456789abc',
      name: 'Tess Manager',
      groups: [ADMINS],
      roles: [],
    });
  });

  it('reads an application’s app roles', () => {
    expect(callerFromPrincipal(appPrincipal('Helpdesk.Manage'))?.roles).toEqual(['Helpdesk.Manage']);
  });

  it.each([
    ['not base64 JSON', 'x-not-json'],
    ['another identity provider', userPrincipal([ADMINS], 'google')],
    ['a wrong shape', Buffer.from(JSON.stringify({ claims: 'all' })).toString('base64')],
  ])('refuses %s', (_name, header) => {
    expect(callerFromPrincipal(header)).toBeNull();
  });
});

describe('checkManagementAccess', () => {
  it('admits a member of the helpdesk’s admin group, and an app holding its app role', () => {
    expect(access(userPrincipal([OTHERS, ADMINS]))()?.name).toBe('Tess Manager');
    expect(code(access(appPrincipal('Helpdesk.Manage')))).toBeNull();
  });

  it('function-key holder: a call without a signed-in caller is refused (401)', () => {
    expect(code(access(null))).toBe('unauthenticated');
  });

  it('cross-helpdesk: an administrator of another helpdesk is refused (403)', () => {
    expect(code(access(userPrincipal([OTHERS])))).toBe('forbidden');
    expect(code(access(appPrincipal('Helpdesk.Read')))).toBe('forbidden');
  });

  it('probing: an unknown helpdesk is refused like a foreign one', () => {
    expect(code(access(userPrincipal([ADMINS]), { helpdesk: null }))).toBe('forbidden');
  });

  it('a helpdesk that names no administrators admits nobody', () => {
    const open = testHelpdesk('open', 'desk@open.test');
    expect(code(access(userPrincipal([ADMINS]), { helpdesk: open }))).toBe('forbidden');
  });

  it('forged principal: without App Service authentication on, no header is believed', () => {
    expect(code(access(userPrincipal([ADMINS]), { platformAuthentication: undefined }))).toBe(
      'authenticationNotConfigured',
    );
  });

  it('lets everything through only in mode none', () => {
    expect(access(null, { mode: 'none', platformAuthentication: undefined })()).toBeNull();
  });
});

describe('checkSignedIn (the console page, which is about no helpdesk)', () => {
  const signedIn =
    (principalHeader: string | null, platformAuthentication: string | undefined = 'True') =>
    () =>
      checkSignedIn({ mode: 'entra', platformAuthentication, principalHeader });

  it('admits anyone signed in with Entra ID, whatever helpdesks they manage', () => {
    expect(signedIn(userPrincipal([OTHERS]))()?.name).toBe('Tess Manager');
  });

  it('refuses a caller who is not signed in, and believes no header without App Service authentication', () => {
    expect(code(signedIn(null))).toBe('unauthenticated');
    expect(code(signedIn(userPrincipal([ADMINS]), 'False'))).toBe('authenticationNotConfigured');
  });
});

describe('errorResponse', () => {
  it('leaks no Graph or Cosmos DB message, and names the correlation id', () => {
    const logged: string[] = [];
    const graphError = new Error(
      'Graph GET /users/ceo%40contoso.com/mailFolders: ErrorAccessDenied Access is denied. Check credentials and try again.',
    );
    const response = errorResponse(graphError, (line) => logged.push(line), 'inv-123');
    expect(response).toEqual({
      status: 500,
      jsonBody: {
        error: { code: 'internal', message: 'Internal error; see the logs.', correlationId: 'inv-123' },
      },
    });
    expect(logged.join('\n')).toContain('ErrorAccessDenied');
    expect(errorResponse(new ApiError('forbidden', 'no'), () => {}, 'inv-9').jsonBody).toEqual({
      error: { code: 'forbidden', message: 'no', correlationId: 'inv-9' },
    });
  });
});
