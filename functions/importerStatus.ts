import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { appServices, invocationLog } from '../shared/app/services.js';
import { importerStatus } from '../shared/helpdesk/importerSettingsService.js';
import type { HttpFunction } from '../shared/host/functionDefinition.js';
import { mappingErrors, ok } from '../shared/http/errors.js';
import { helpdeskParam, routeParams } from '../shared/http/input.js';
import { authoriseManagement } from '../shared/http/management.js';

export const importerStatusHandler = mappingErrors(
  async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    const { helpdeskId } = routeParams(request, helpdeskParam);
    await authoriseManagement(request, context, helpdeskId);
    const services = appServices();
    const deps = services.dependencies(invocationLog(context));
    return ok(await importerStatus({ ...deps, subscriptions: services.notificationStore }, helpdeskId));
  },
);

export const importerStatusFunction: HttpFunction = {
  trigger: 'http',
  name: 'importerStatus',
  methods: ['GET'],
  route: 'helpdesks/{helpdeskId}/importer/status',
  authLevel: 'anonymous',
  handler: importerStatusHandler,
};
