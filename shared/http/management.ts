import type { HttpRequest, InvocationContext } from '@azure/functions';
import { appServices, invocationLog } from '../app/services.js';
import { type Caller, checkManagementAccess, checkSignedIn } from './authorization.js';

/**
 * Lets a management call on one helpdesk go on, or throws the 401/403 it gets (authorization.ts).
 * Called by every HTTP function before it reads a body or touches anything. Answers the signed-in
 * caller (null without sign-in, MANAGEMENT_AUTH=none), for what records who did something.
 */
export async function authoriseManagement(
  request: HttpRequest,
  context: InvocationContext,
  helpdeskId: string,
): Promise<Caller | null> {
  const services = appServices();
  const { MANAGEMENT_AUTH, WEBSITE_AUTH_ENABLED } = services.env;
  const helpdesk =
    MANAGEMENT_AUTH === 'none'
      ? null
      : await services.dependencies(invocationLog(context)).helpdesks.get(helpdeskId);
  const caller = checkManagementAccess({
    mode: MANAGEMENT_AUTH,
    platformAuthentication: WEBSITE_AUTH_ENABLED,
    principalHeader: request.headers.get('x-ms-client-principal'),
    helpdesk,
  });
  if (caller) context.log(`${request.method} on helpdesk ${helpdeskId} by ${caller.id}`);
  return caller;
}

/** For what concerns no helpdesk (the console page): only that the caller is signed in, in entra mode. */
export function authoriseSignedIn(request: HttpRequest): Caller | null {
  const { MANAGEMENT_AUTH, WEBSITE_AUTH_ENABLED } = appServices().env;
  return checkSignedIn({
    mode: MANAGEMENT_AUTH,
    platformAuthentication: WEBSITE_AUTH_ENABLED,
    principalHeader: request.headers.get('x-ms-client-principal'),
  });
}
