import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { z } from 'zod';
import { appServices, invocationLog } from '../shared/app/services.js';
import type { HttpFunction } from '../shared/host/functionDefinition.js';
import { accepted, invalidInput, mappingErrors, ok } from '../shared/http/errors.js';
import { helpdeskParam, routeParams } from '../shared/http/input.js';
import { authoriseManagement } from '../shared/http/management.js';
import { listFlagged, listKeptAside, retryKeptAside } from '../shared/import/keptAside.js';

const listQuery = z.object({ state: z.enum(['keptAside', 'flagged']).default('keptAside') });

/** Mail kept aside (default), or with ?state=flagged mail imported as a flagged supplement (R18). */
export const keptAsideMessagesHandler = mappingErrors(
  async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    const { helpdeskId } = routeParams(request, helpdeskParam);
    await authoriseManagement(request, context, helpdeskId);
    const query = listQuery.safeParse({ state: request.query.get('state') ?? undefined });
    if (!query.success) throw invalidInput(query.error, 'query');
    const deps = appServices().dependencies(invocationLog(context));
    const messages =
      query.data.state === 'flagged'
        ? await listFlagged(deps, helpdeskId)
        : await listKeptAside(deps, helpdeskId);
    return ok({ helpdeskId, state: query.data.state, messages });
  },
);

export const retryKeptAsideMessageHandler = mappingErrors(
  async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    const { helpdeskId, key } = routeParams(request, {
      ...helpdeskParam,
      key: z.string().regex(/^[A-Za-z0-9_-]{10,64}$/, 'a message key as listed'),
    });
    await authoriseManagement(request, context, helpdeskId);
    const services = appServices();
    const { mailboxId } = await retryKeptAside(services.dependencies(invocationLog(context)), {
      helpdeskId,
      key,
    });
    await services.jobQueue.enqueue([
      { helpdeskId, mailboxId, reason: 'retry', enqueuedAt: new Date().toISOString() },
    ]);
    return accepted({ helpdeskId, mailboxId, key, status: 'queued for import' });
  },
);

export const keptAsideMessagesFunction: HttpFunction = {
  trigger: 'http',
  name: 'keptAsideMessages',
  methods: ['GET'],
  route: 'helpdesks/{helpdeskId}/messages',
  authLevel: 'anonymous',
  handler: keptAsideMessagesHandler,
};

export const retryKeptAsideMessageFunction: HttpFunction = {
  trigger: 'http',
  name: 'retryKeptAsideMessage',
  methods: ['POST'],
  route: 'helpdesks/{helpdeskId}/messages/{key}/retry',
  authLevel: 'anonymous',
  handler: retryKeptAsideMessageHandler,
};
