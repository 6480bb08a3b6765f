import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { z } from 'zod';
import { appServices, invocationLog } from '../shared/app/services.js';
import { identifier } from '../shared/helpdesk/settings.js';
import type { HttpFunction } from '../shared/host/functionDefinition.js';
import { mappingErrors, ok } from '../shared/http/errors.js';
import { helpdeskParam, jsonBody, routeParams } from '../shared/http/input.js';
import { authoriseManagement } from '../shared/http/management.js';
import { importHelpdesk } from '../shared/import/importHelpdesk.js';

const importRequest = z.object({ mailboxId: identifier.optional() }).strict();

export const importHelpdeskHandler = mappingErrors(
  async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    const { helpdeskId } = routeParams(request, helpdeskParam);
    await authoriseManagement(request, context, helpdeskId);
    const { mailboxId } = await jsonBody(request, importRequest, true);
    const services = appServices();
    const results = await importHelpdesk(
      services.dependencies(invocationLog(context)),
      { helpdeskId, mailboxId },
      { deadline: services.deadline(), telemetry: services.telemetry(context) },
    );
    return ok({
      helpdeskId,
      mailboxes: results.map((r) => ({
        mailboxId: r.mailboxId,
        status: r.status,
        created: r.created,
        supplemented: r.supplemented,
        skipped: r.counts.skipped,
        keptAside: r.counts.keptAside,
        failed: r.counts.failed,
        alreadyImported: r.counts.alreadyImported,
        problems: r.problems,
        durationMs: r.durationMs,
      })),
    });
  },
);

export const importHelpdeskFunction: HttpFunction = {
  trigger: 'http',
  name: 'importHelpdesk',
  methods: ['POST'],
  route: 'helpdesks/{helpdeskId}/import',
  authLevel: 'anonymous',
  handler: importHelpdeskHandler,
};
