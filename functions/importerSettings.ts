import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { appServices, invocationLog } from '../shared/app/services.js';
import { changeImporterSettings, readImporterSettings } from '../shared/helpdesk/importerSettingsService.js';
import { importerSettingsSchema } from '../shared/helpdesk/settings.js';
import type { HttpFunction } from '../shared/host/functionDefinition.js';
import { mappingErrors, ok } from '../shared/http/errors.js';
import { helpdeskParam, jsonBody, routeParams } from '../shared/http/input.js';
import { authoriseManagement } from '../shared/http/management.js';

export const importerSettingsHandler = mappingErrors(
  async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    const { helpdeskId } = routeParams(request, helpdeskParam);
    await authoriseManagement(request, context, helpdeskId);
    const services = appServices();
    const { helpdesks, contacts } = services.dependencies(invocationLog(context));
    if (request.method === 'GET') return ok(await readImporterSettings(helpdesks, helpdeskId));
    const importer = await jsonBody(request, importerSettingsSchema);
    return ok(
      await changeImporterSettings(helpdesks, contacts, helpdeskId, importer, services.env.ALLOWED_MAILBOXES),
    );
  },
);

export const importerSettingsFunction: HttpFunction = {
  trigger: 'http',
  name: 'importerSettings',
  methods: ['GET', 'PUT'],
  route: 'helpdesks/{helpdeskId}/importer',
  authLevel: 'anonymous',
  handler: importerSettingsHandler,
};
