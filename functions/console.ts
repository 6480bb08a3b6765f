import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import type { HttpFunction } from '../shared/host/functionDefinition.js';
import {
  CONSOLE_ASSETS,
  CONSOLE_CSP,
  consoleAssetName,
  readConsoleAsset,
} from '../shared/http/consoleAssets.js';
import { mappingErrors } from '../shared/http/errors.js';
import { authoriseSignedIn } from '../shared/http/management.js';

/**
 * The admin console: one static page, its script and styles, all of it the same for everyone (no data,
 * no secrets). What it shows comes from the management API, authorised per helpdesk on each call.
 */
export const consoleHandler = mappingErrors(
  async (request: HttpRequest, _context: InvocationContext): Promise<HttpResponseInit> => {
    authoriseSignedIn(request);
    const name = consoleAssetName(request.params.asset);
    const content = await readConsoleAsset(name);
    return {
      status: 200,
      body: content,
      headers: {
        'content-type': CONSOLE_ASSETS[name],
        'content-length': String(content.length),
        'content-security-policy': CONSOLE_CSP,
        'x-content-type-options': 'nosniff',
        'referrer-policy': 'no-referrer',
        // Revalidated on every load, so a deployment is seen at once; the files are small.
        'cache-control': 'no-cache',
      },
    };
  },
);

export const consoleFunction: HttpFunction = {
  trigger: 'http',
  name: 'console',
  methods: ['GET'],
  route: 'console/{asset?}',
  authLevel: 'anonymous',
  handler: consoleHandler,
};
