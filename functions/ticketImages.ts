import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { z } from 'zod';
import { appServices, invocationLog } from '../shared/app/services.js';
import type { HttpFunction } from '../shared/host/functionDefinition.js';
import { mappingErrors } from '../shared/http/errors.js';
import { helpdeskParam, routeParams } from '../shared/http/input.js';
import { authoriseManagement } from '../shared/http/management.js';
import { IMAGE_NAME, ticketImage } from '../shared/tickets/ticketImages.js';

/**
 * An image of a ticket, for the agents' view of its HTML, or another file the helpdesk keeps (a download). The image came from a mail, so it is served
 * so that it can never run as a page: no sniffing, and a policy that allows nothing should it be opened
 * as a document. Its name is its content hash, so it never changes.
 */
export const ticketImageHandler = mappingErrors(
  async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    const { helpdeskId, ticketNumber, name } = routeParams(request, {
      ...helpdeskParam,
      ticketNumber: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
      name: z.string().regex(IMAGE_NAME, 'an image name as in the ticket HTML'),
    });
    await authoriseManagement(request, context, helpdeskId);
    const image = await ticketImage(appServices().dependencies(invocationLog(context)), {
      helpdeskId,
      ticketNumber,
      name,
    });
    return {
      status: 200,
      body: image.content,
      headers: {
        'content-type': image.contentType,
        'content-length': String(image.size),
        // A kept file that is no image (attachments.keep "all") is only ever a download, never shown inline.
        ...(image.inline ? {} : { 'content-disposition': `attachment; filename="${name}"` }),
        'content-security-policy': "default-src 'none'",
        'x-content-type-options': 'nosniff',
        'cache-control': 'private, max-age=31536000, immutable',
      },
    };
  },
);

export const ticketImageFunction: HttpFunction = {
  trigger: 'http',
  name: 'ticketImage',
  methods: ['GET'],
  route: 'helpdesks/{helpdeskId}/tickets/{ticketNumber}/images/{name}',
  authLevel: 'anonymous',
  handler: ticketImageHandler,
};
