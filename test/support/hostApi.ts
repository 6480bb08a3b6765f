import type { LocalHost } from '../../local/host.js';

export interface ApiAnswer {
  status: number;
  json: unknown;
}

/** Calls an HTTP function of the local host below /api with an optional JSON body. */
export async function hostApi(
  host: LocalHost,
  method: string,
  path: string,
  body?: unknown,
): Promise<ApiAnswer> {
  const response = await fetch(`${host.httpUrl}/api/${path}`, {
    method,
    ...(body === undefined
      ? {}
      : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : null };
}
