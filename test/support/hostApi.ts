import type { LocalHost } from '../../local/host.js';

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
