import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { z } from 'zod';
import { appServices, invocationLog } from '../shared/app/services.js';
import type { HttpFunction } from '../shared/host/functionDefinition.js';
import { accepted, mappingErrors, ok } from '../shared/http/errors.js';
import { helpdeskParam, jsonBody, routeParams } from '../shared/http/input.js';
import { authoriseManagement } from '../shared/http/management.js';
import { postReply, replyRequestSchema, replyStatus, retryReply } from '../shared/replies/agentReplies.js';

const ticketParams = {
  ...helpdeskParam,
  ticketNumber: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
};
const replyParams = { ...ticketParams, replyId: z.uuid('a reply id as POST …/replies answered it') };

/** An agent's answer to the customer (R21): stored and queued at once; the mail goes out from a queue job. */
export const postReplyHandler = mappingErrors(
  async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    const { helpdeskId, ticketNumber } = routeParams(request, ticketParams);
    await authoriseManagement(request, context, helpdeskId);
    const body = await jsonBody(request, replyRequestSchema);
    const deps = appServices().replyDependencies(invocationLog(context));
    return accepted(await postReply(deps, { helpdeskId, ticketNumber, request: body }));
  },
);

export const replyStatusHandler = mappingErrors(
  async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    const params = routeParams(request, replyParams);
    await authoriseManagement(request, context, params.helpdeskId);
    return ok(await replyStatus(appServices().replyDependencies(invocationLog(context)), params));
  },
);

/** A failed reply sent again (same mail, same Message-ID); 409 unless it failed. */
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
