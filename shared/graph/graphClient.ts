import type { Readable } from 'node:stream';
import { DefaultAzureCredential, ManagedIdentityCredential, type TokenCredential } from '@azure/identity';
import { Client } from '@microsoft/microsoft-graph-client';
import { TokenCredentialAuthenticationProvider } from '@microsoft/microsoft-graph-client/authProviders/azureTokenCredentials/index.js';
import { Agent, type Dispatcher, getGlobalDispatcher, Pool } from 'undici';
import { z } from 'zod';

export const GRAPH_SCOPE = 'https://graph.microsoft.com/.default';

const isTokenCredential = (value: unknown): value is TokenCredential =>
  typeof value === 'object' && value !== null && typeof Reflect.get(value, 'getToken') === 'function';

const graphClientOptionsSchema = z.object({
  /** Graph's root, e.g. https://graph.microsoft.com or the emulator's URL; the SDK adds `/v1.0`. */
  baseUrl: z
    .url({ protocol: /^https$/, error: 'must be an https URL' })
    .transform((url) => url.replace(/\/+$/, '').replace(/\/v1\.0$/i, '')),
  /** A fixed bearer token: the local emulator, or a token from `az account get-access-token`. */
  accessToken: z.string().trim().min(1).optional(),
  /** PEM of a certificate to trust for `baseUrl`'s origin only (the emulator's self-signed one). */
  caCertPem: z
    .string()
    .includes('-----BEGIN CERTIFICATE-----', { error: 'must be a PEM certificate' })
    .optional(),
  credential: z.custom<TokenCredential>(isTokenCredential, { error: 'must be a TokenCredential' }).optional(),
  /** Client id of the user-assigned managed identity. */
  clientId: z.string().trim().min(1).optional(),
});

export type GraphClientOptions = z.input<typeof graphClientOptionsSchema>;

/** A Graph answer whose body is a Node stream (see `GraphClientProvider.getStream`). */
export interface StreamedResponse {
  ok: boolean;
  status: number;
  statusText: string;
  headers: { get(name: string): string | null };
  /** The body, for a successful answer. */
  body: Readable;
  text(): Promise<string>;
}

/**
 * Returns the same Graph client on every call; the first call builds it. `getStream` GETs a path under
 * the same root with the same token and trusted certificate through undici's `request`, whose body is a
 * Node stream: a mail's MIME that way costs about half the CPU of the SDK's fetch and its web stream.
 */
export type GraphClientProvider = (() => Client) & {
  getStream(path: string, headers: Record<string, string>, signal?: AbortSignal): Promise<StreamedResponse>;
};

/** A token that does not expire for the life of the process, for the emulator or a CLI token. */
function staticTokenCredential(token: string): TokenCredential {
  return { getToken: async () => ({ token, expiresOnTimestamp: Number.MAX_SAFE_INTEGER }) };
}

function credentialFor(options: z.output<typeof graphClientOptionsSchema>): TokenCredential {
  if (options.credential) return options.credential;
  if (options.accessToken) return staticTokenCredential(options.accessToken);
  // In Azure the app's user-assigned identity; elsewhere DefaultAzureCredential finds a developer login.
  if (options.clientId) return new ManagedIdentityCredential({ clientId: options.clientId });
  return new DefaultAzureCredential();
}

/** Trusts `caCertPem` for connections to `origin` and nowhere else. */
function trustingDispatcher(origin: string, caCertPem: string): Dispatcher {
  return new Agent({
    factory: (target, options) =>
      new Pool(
        target,
        new URL(String(target)).origin === origin ? { ...options, connect: { ca: caCertPem } } : options,
      ),
  });
}

interface Connection {
  client: Client;
  authProvider: TokenCredentialAuthenticationProvider;
  dispatcher: Dispatcher;
}

function connect(options: z.output<typeof graphClientOptionsSchema>): Connection {
  const authProvider = new TokenCredentialAuthenticationProvider(credentialFor(options), {
    scopes: [GRAPH_SCOPE],
  });
  const base = new URL(options.baseUrl);
  const dispatcher = options.caCertPem
    ? trustingDispatcher(base.origin, options.caCertPem)
    : getGlobalDispatcher();
  const client = Client.initWithMiddleware({
    authProvider,
    baseUrl: options.baseUrl,
    // The SDK only sends the token to Graph's own hosts and to these.
    customHosts: new Set([base.hostname]),
    fetchOptions: { dispatcher },
  });
  return { client, authProvider, dispatcher };
}

function headerGetter(headers: Record<string, string | string[] | undefined>) {
  return {
    get: (name: string): string | null => {
      const value = headers[name.toLowerCase()];
      return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
    },
  };
}

/** Only ever `baseUrl`'s origin: the path is appended to the version root, so the token goes nowhere else. */
async function getStream(
  connection: Connection,
  root: string,
  path: string,
  headers: Record<string, string>,
  signal?: AbortSignal,
): Promise<StreamedResponse> {
  if (!path.startsWith('/')) throw new Error(`Graph path ${path} must start with /`);
  const url = new URL(`${root}/v1.0${path}`);
  const token = await connection.authProvider.getAccessToken();
  const response = await connection.dispatcher.request({
    origin: url.origin,
    path: `${url.pathname}${url.search}`,
    method: 'GET',
    headers: { ...headers, authorization: `Bearer ${token}` },
    ...(signal ? { signal } : {}),
  });
  return {
    ok: response.statusCode >= 200 && response.statusCode <= 299,
    status: response.statusCode,
    statusText: '',
    headers: headerGetter(response.headers),
    body: response.body,
    text: () => response.body.text(),
  };
}

/** Validates the options now; builds the client (and its credential) on first use, once. */
export function createGraphClient(options: GraphClientOptions): GraphClientProvider {
  const parsed = graphClientOptionsSchema.safeParse(options);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(
      `Invalid Graph client option ${issue?.path.join('.') || ''}: ${issue?.message ?? 'invalid'}`,
    );
  }
  let connection: Connection | undefined;
  const connected = () => {
    connection ??= connect(parsed.data);
    return connection;
  };
  return Object.assign(() => connected().client, {
    getStream: (path: string, headers: Record<string, string>, signal?: AbortSignal) =>
      getStream(connected(), parsed.data.baseUrl, path, headers, signal),
  });
}
