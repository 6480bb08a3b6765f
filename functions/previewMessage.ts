import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { z } from 'zod';
import { appServices, invocationLog } from '../shared/app/services.js';
import { identifier } from '../shared/helpdesk/settings.js';
import type { HttpFunction } from '../shared/host/functionDefinition.js';
import { ApiError, invalidInput, mappingErrors, ok } from '../shared/http/errors.js';
import { helpdeskParam, routeParams } from '../shared/http/input.js';
import { authoriseManagement } from '../shared/http/management.js';
import { previewMail } from '../shared/import/previewMail.js';

/**
 * A preview holds the whole mail in memory while it parses it; larger mail is refused before it is read.
 * An import would keep aside anything over the helpdesk's own maxMessageBytes, which the preview says.
 */
export const PREVIEW_MAX_BYTES = 25_000_000;

const previewQuery = z.object({ mailbox: identifier.optional() }).strict();

function tooLarge(): ApiError {
  return new ApiError(
    'payloadTooLarge',
    `body: a mail to preview may have at most ${PREVIEW_MAX_BYTES} bytes`,
  );
}

/**
 * What the importer would do with one mail (an .eml, message/rfc822) under the helpdesk's current
 * settings and the rules of one of its mailboxes (the first by default). Nothing is stored or sent.
 */
export const previewMessageHandler = mappingErrors(
  async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    const { helpdeskId } = routeParams(request, helpdeskParam);
    await authoriseManagement(request, context, helpdeskId);
    const query = previewQuery.safeParse(Object.fromEntries(request.query.entries()));
    if (!query.success) throw invalidInput(query.error, 'query');
    const contentType = request.headers.get('content-type')?.split(';')[0]?.trim().toLowerCase();
    if (contentType !== 'message/rfc822') {
      throw new ApiError('unsupportedMediaType', 'content-type: must be message/rfc822 (an .eml file)');
    }
    if (Number(request.headers.get('content-length') ?? 0) > PREVIEW_MAX_BYTES) throw tooLarge();
    const raw = Buffer.from(await request.arrayBuffer());
    if (raw.length > PREVIEW_MAX_BYTES) throw tooLarge();
    if (raw.length === 0) throw new ApiError('badRequest', 'body: an .eml file is required', 'body');
    const helpdesk = await appServices().dependencies(invocationLog(context)).helpdesks.get(helpdeskId);
    if (!helpdesk) throw new ApiError('notFound', `helpdesk ${helpdeskId} does not exist`);
    const { mailbox } = query.data;
    if (mailbox && !helpdesk.importer.mailboxes.some((m) => m.id === mailbox)) {
      throw new ApiError(
        'badRequest',
        `query.mailbox: no mailbox ${mailbox} in this helpdesk`,
        'query.mailbox',
      );
    }
    return ok(await previewMail(raw, helpdesk, undefined, mailbox));
  },
);

export const previewMessageFunction: HttpFunction = {
  trigger: 'http',
  name: 'previewMessage',
  methods: ['POST'],
  route: 'helpdesks/{helpdeskId}/preview',
  authLevel: 'anonymous',
  handler: previewMessageHandler,
};
