import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { z } from 'zod';
import { appServices, invocationLog } from '../shared/app/services.js';
import type { HttpFunction } from '../shared/host/functionDefinition.js';
import { accepted, invalidInput, mappingErrors, ok } from '../shared/http/errors.js';
import { helpdeskParam, jsonBody, routeParams } from '../shared/http/input.js';
import { authoriseManagement } from '../shared/http/management.js';
import {
  idempotencyKeySchema,
  postReply,
  replyRequestSchema,
  replyStatus,
  retryReply,
} from '../shared/replies/agentReplies.js';

const ticketParams = {
  ...helpdeskParam,
  ticketNumber: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
};
const replyParams = { ...ticketParams, replyId: z.uuid('a reply id as POST …/replies answered it') };

/** The optional `Idempotency-Key` header, validated; undefined when the request has none. */
function idempotencyKey(request: HttpRequest): string | undefined {
  const header = request.headers.get('idempotency-key');
  if (header === null) return undefined;
  const key = idempotencyKeySchema.safeParse(header);
  if (!key.success) throw invalidInput(key.error, 'headers.idempotency-key');
  return key.data;
}

/**
 * An agent's answer to the customer (R21): stored and queued at once; the mail goes out from a queue job.
 * With an Idempotency-Key, posting again answers the reply the first post made.
 */
export const postReplyHandler = mappingErrors(
  async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    const { helpdeskId, ticketNumber } = routeParams(request, ticketParams);
    await authoriseManagement(request, context, helpdeskId);
    const key = idempotencyKey(request);
    const body = await jsonBody(request, replyRequestSchema);
    const deps = appServices().replyDependencies(invocationLog(context));
    return accepted(
      await postReply(deps, {
        helpdeskId,
        ticketNumber,
        request: body,
        ...(key === undefined ? {} : { idempotencyKey: key }),
      }),
    );
  },
);

export const replyStatusHandler = mappingErrors(
  async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    const params = routeParams(request, replyParams);
    await authoriseManagement(request, context, params.helpdeskId);
    return ok(await replyStatus(appServices().replyDependencies(invocationLog(context)), params));
  },
);

/** A failed reply, or a queued one whose send job was lost, sent again (same mail, same Message-ID); else 409. */
export const retryReplyHandler = mappingErrors(
  async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    const params = routeParams(request, replyParams);
    await authoriseManagement(request, context, params.helpdeskId);
    return accepted(await retryReply(appServices().replyDependencies(invocationLog(context)), params));
  },
);

export const postReplyFunction: HttpFunction = {
  trigger: 'http',
  name: 'postReply',
  methods: ['POST'],
  route: 'helpdesks/{helpdeskId}/tickets/{ticketNumber}/replies',
  authLevel: 'anonymous',
  handler: postReplyHandler,
};

export const replyStatusFunction: HttpFunction = {
  trigger: 'http',
  name: 'replyStatus',
  methods: ['GET'],
  route: 'helpdesks/{helpdeskId}/tickets/{ticketNumber}/replies/{replyId}',
  authLevel: 'anonymous',
  handler: replyStatusHandler,
};

export const retryReplyFunction: HttpFunction = {
  trigger: 'http',
  name: 'retryReply',
  methods: ['POST'],
  route: 'helpdesks/{helpdeskId}/tickets/{ticketNumber}/replies/{replyId}/retry',
  authLevel: 'anonymous',
  handler: retryReplyHandler,
};
