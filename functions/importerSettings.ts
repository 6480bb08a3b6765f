import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { appServices, invocationLog } from '../shared/app/services.js';
import { changeImporterSettings, readImporterSettings } from '../shared/helpdesk/importerSettingsService.js';
import { importerSettingsSchema } from '../shared/helpdesk/settings.js';
import type { HttpFunction } from '../shared/host/functionDefinition.js';
import { mappingErrors, ok } from '../shared/http/errors.js';
import { helpdeskParam, jsonBody, routeParams } from '../shared/http/input.js';

export const importerSettingsHandler = mappingErrors(
  async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    const { helpdeskId } = routeParams(request, helpdeskParam);
    const { helpdesks, contacts } = appServices().dependencies(invocationLog(context));
    if (request.method === 'GET') return ok(await readImporterSettings(helpdesks, helpdeskId));
    const importer = await jsonBody(request, importerSettingsSchema);
    return ok(await changeImporterSettings(helpdesks, contacts, helpdeskId, importer));
  },
);

export const importerSettingsFunction: HttpFunction = {
  trigger: 'http',
  name: 'importerSettings',
  methods: ['GET', 'PUT'],
  route: 'helpdesks/{helpdeskId}/importer',
  authLevel: 'function',
  handler: importerSettingsHandler,
};
