import { allFunctions } from '../../functions/definitions.js';
import { type HostJson, type LocalHost, type LocalHostOptions, startLocalHost } from '../../local/host.js';
import type { FunctionDefinition } from '../../shared/host/functionDefinition.js';

export interface ApiAnswer {
  status: number;
  json: unknown;
}

/** Calls an HTTP function of the local host below /api with an optional JSON body and headers. */
export async function hostApi(
  host: LocalHost,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<ApiAnswer> {
  const response = await fetch(`${host.httpUrl}/api/${path}`, {
    method,
    ...(body === undefined
      ? { headers }
      : { body: JSON.stringify(body), headers: { 'content-type': 'application/json', ...headers } }),
  });
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : null };
}

/**
 * The local host with every function of the app but the timers, on a free port unless one is given: the
 * tests start runs themselves, over HTTP or the queue. `extraFunctions` run beside the app's.
 */
export function startHostWithoutTimers(
  options: Omit<LocalHostOptions, 'functions' | 'hostJson'> & {
    hostJson?: HostJson;
    extraFunctions?: FunctionDefinition[];
  },
): Promise<LocalHost> {
  const { extraFunctions = [], hostJson = { version: '2.0' }, httpPort = 0, ...rest } = options;
  return startLocalHost({
    ...rest,
    functions: [...allFunctions.filter((definition) => definition.trigger !== 'timer'), ...extraFunctions],
    hostJson,
    httpPort,
  });
}
