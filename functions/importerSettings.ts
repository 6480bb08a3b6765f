import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { appServices, invocationLog } from '../shared/app/services.js';
import {
  changeImporterSettings,
  readImporterSettings,
  type VersionedImporterSettings,
} from '../shared/helpdesk/importerSettingsService.js';
import { importerSettingsSchema } from '../shared/helpdesk/settings.js';
import type { HttpFunction } from '../shared/host/functionDefinition.js';
import { mappingErrors, ok } from '../shared/http/errors.js';
import { helpdeskParam, ifMatch, jsonBody, routeParams } from '../shared/http/input.js';
import { authoriseManagement } from '../shared/http/management.js';

/** The settings as the body, their version as a strong ETag a client can send back in If-Match. */
function withETag(settings: VersionedImporterSettings): HttpResponseInit {
  return ok(settings.importer, { ETag: `"${settings.version.replace(/^"|"$/g, '')}"` });
}

export const importerSettingsHandler = mappingErrors(
  async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    const { helpdeskId } = routeParams(request, helpdeskParam);
    await authoriseManagement(request, context, helpdeskId);
    const services = appServices();
    const { helpdesks, contacts } = services.dependencies(invocationLog(context));
    if (request.method === 'GET') return withETag(await readImporterSettings(helpdesks, helpdeskId));
    const importer = await jsonBody(request, importerSettingsSchema);
    return withETag(
      await changeImporterSettings(
        helpdesks,
        contacts,
        helpdeskId,
        importer,
        services.env.ALLOWED_MAILBOXES,
        ifMatch(request),
      ),
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
