import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { z } from 'zod';
import { appServices, invocationLog } from '../shared/app/services.js';
import { identifier } from '../shared/helpdesk/settings.js';
import type { HttpFunction } from '../shared/host/functionDefinition.js';
import { ApiError, accepted, invalidInput, mappingErrors } from '../shared/http/errors.js';
import { jsonBody } from '../shared/http/input.js';
import {
  notificationsBodySchema,
  receiveNotifications,
} from '../shared/notifications/receiveNotifications.js';

const mailboxQuery = z.object({ helpdeskId: identifier, mailboxId: identifier });
/** Graph's tokens are a sentence and a request id; anything far longer is not Graph. */
const validationToken = z.string().min(1).max(1024);

/**
 * Graph's change and lifecycle notifications for one mailbox (its URL names it). Anonymous for the
 * platform, as Graph sends no credentials: the clientState of every notification is the check.
 */
export const notificationsHandler = mappingErrors(
  async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    const token = request.query.get('validationToken');
    if (token !== null) {
      // The validation handshake: the decoded token back as plain text, within 10 seconds.
      const parsed = validationToken.safeParse(token);
      if (!parsed.success) throw invalidInput(parsed.error, 'query.validationToken');
      return {
        status: 200,
        body: parsed.data,
        headers: { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' },
      };
    }
    const services = appServices();
    if (!services.notifications) throw new ApiError('notFound', 'change notifications are not configured');
    const ref = mailboxQuery.safeParse(Object.fromEntries(request.query.entries()));
    if (!ref.success) throw invalidInput(ref.error, 'query');
    const body = await jsonBody(request, notificationsBodySchema);
    const deps = services.dependencies(invocationLog(context));
    const outcome = await receiveNotifications(
      {
        ...services.notifications,
        helpdesks: deps.helpdesks,
        queue: services.jobQueue,
        clock: deps.clock,
        log: deps.log,
      },
      ref.data,
      body,
    );
    return accepted(outcome);
  },
);

export const notificationsFunction: HttpFunction = {
  trigger: 'http',
  name: 'notifications',
  methods: ['POST'],
  route: 'notifications',
  authLevel: 'anonymous',
  handler: notificationsHandler,
};
