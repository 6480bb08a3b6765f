import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { z } from 'zod';
import { appServices, invocationLog } from '../shared/app/services.js';
import { attachmentDisposition } from '../shared/blob/blobMailStores.js';
import type { HttpFunction } from '../shared/host/functionDefinition.js';
import { accepted, invalidInput, mappingErrors, ok } from '../shared/http/errors.js';
import { helpdeskParam, jsonBody, routeParams } from '../shared/http/input.js';
import { authoriseManagement } from '../shared/http/management.js';
import { importMailbox } from '../shared/import/importMailbox.js';
import { listMessages, MAX_PAGE_SIZE, rawMessage, retryKeptAside } from '../shared/import/keptAside.js';
import { messageDetail } from '../shared/import/messageDetail.js';
import { resolveMessage, resolveRequestSchema } from '../shared/import/resolveMessage.js';

const listQuery = z
  .object({
    state: z.enum(['keptAside', 'flagged', 'ignored', 'all']).default('keptAside'),
    from: z.string().trim().min(1).max(320).optional(),
    subject: z.string().trim().min(1).max(255).optional(),
    pageSize: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).optional(),
    continuationToken: z.string().min(1).max(8000).optional(),
  })
  .strict();

/**
 * Mail kept aside (default), flagged as from an unrelated sender (R18), ignored, or all of it: one page,
 * newest first, with the token for the next.
 */
export const keptAsideMessagesHandler = mappingErrors(
  async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    const { helpdeskId } = routeParams(request, helpdeskParam);
    await authoriseManagement(request, context, helpdeskId);
    const query = listQuery.safeParse(Object.fromEntries(request.query.entries()));
    if (!query.success) throw invalidInput(query.error, 'query');
    const deps = appServices().dependencies(invocationLog(context));
    const page = await listMessages(deps, { helpdeskId, ...query.data });
    return ok({ helpdeskId, state: query.data.state, ...page });
  },
);

const messageParams = {
  ...helpdeskParam,
  key: z.string().regex(/^[A-Za-z0-9_-]{10,64}$/, 'a message key as listed'),
};

/** Everything needed to decide on one mail: its record, the stored plan, and the mail parsed from its raw copy. */
export const messageDetailHandler = mappingErrors(
  async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    const { helpdeskId, key } = routeParams(request, messageParams);
    await authoriseManagement(request, context, helpdeskId);
    return ok(await messageDetail(appServices().dependencies(invocationLog(context)), { helpdeskId, key }));
  },
);

/**
 * The original .eml, for a person to open in a mail client: a download (never shown inline in the
 * browser), named after the message key, which is safe in a file name.
 */
export const rawMessageHandler = mappingErrors(
  async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    const { helpdeskId, key } = routeParams(request, messageParams);
    await authoriseManagement(request, context, helpdeskId);
    const raw = await rawMessage(appServices().dependencies(invocationLog(context)), { helpdeskId, key });
    return {
      status: 200,
      body: raw.content,
      headers: {
        'content-type': 'message/rfc822',
        'content-length': String(raw.size),
        'content-disposition': attachmentDisposition(`${key}.eml`),
        'x-content-type-options': 'nosniff',
      },
    };
  },
);

/**
 * A person's decision on a kept-aside or flagged mail (R20); 409 once it is resolved; 202 when its mailbox
 * was being imported at that moment (the decision is stored; a second resolve finishes it).
 */
export const resolveMessageHandler = mappingErrors(
  async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    const { helpdeskId, key } = routeParams(request, messageParams);
    const caller = await authoriseManagement(request, context, helpdeskId);
    const body = await jsonBody(request, resolveRequestSchema);
    const services = appServices();
    const deps = services.dependencies(invocationLog(context));
    const result = await resolveMessage(deps, {
      helpdeskId,
      key,
      // Signed in, the person who decided is the caller, whatever the body's `by` says.
      request: caller ? { ...body, by: caller.name || caller.id } : body,
      importMailbox: (ref, only) =>
        importMailbox(deps, ref, {
          trigger: 'resolve',
          deadline: services.deadline(),
          telemetry: services.telemetry(context),
          only,
        }),
    });
    return result.state === 'done' ? ok(result) : accepted(result);
  },
);

export const retryKeptAsideMessageHandler = mappingErrors(
  async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    const { helpdeskId, key } = routeParams(request, messageParams);
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

export const rawMessageFunction: HttpFunction = {
  trigger: 'http',
  name: 'rawMessage',
  methods: ['GET'],
  route: 'helpdesks/{helpdeskId}/messages/{key}/raw',
  authLevel: 'anonymous',
  handler: rawMessageHandler,
};

export const messageDetailFunction: HttpFunction = {
  trigger: 'http',
  name: 'messageDetail',
  methods: ['GET'],
  route: 'helpdesks/{helpdeskId}/messages/{key}',
  authLevel: 'anonymous',
  handler: messageDetailHandler,
};

export const resolveMessageFunction: HttpFunction = {
  trigger: 'http',
  name: 'resolveMessage',
  methods: ['POST'],
  route: 'helpdesks/{helpdeskId}/messages/{key}/resolve',
  authLevel: 'anonymous',
  handler: resolveMessageHandler,
};
