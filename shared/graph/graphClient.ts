import { DefaultAzureCredential, ManagedIdentityCredential, type TokenCredential } from '@azure/identity';
import { Client } from '@microsoft/microsoft-graph-client';
import { TokenCredentialAuthenticationProvider } from '@microsoft/microsoft-graph-client/authProviders/azureTokenCredentials/index.js';
import { Agent, type Dispatcher, Pool } from 'undici';
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

/** Returns the same Graph client on every call; the first call builds it. */
export type GraphClientProvider = () => Client;

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

function buildClient(options: z.output<typeof graphClientOptionsSchema>): Client {
  const authProvider = new TokenCredentialAuthenticationProvider(credentialFor(options), {
    scopes: [GRAPH_SCOPE],
  });
  const base = new URL(options.baseUrl);
  return Client.initWithMiddleware({
    authProvider,
    baseUrl: options.baseUrl,
    // The SDK only sends the token to Graph's own hosts and to these.
    customHosts: new Set([base.hostname]),
    ...(options.caCertPem
      ? { fetchOptions: { dispatcher: trustingDispatcher(base.origin, options.caCertPem) } }
      : {}),
  });
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
  let client: Client | undefined;
  return () => {
    client ??= buildClient(parsed.data);
    return client;
  };
}
