import { Agent } from 'node:https';
import { CosmosClient, type Database } from '@azure/cosmos';
import { DefaultAzureCredential } from '@azure/identity';

export interface CosmosConnection {
  endpoint: string;
  /** Account key: only for the local emulator. In Azure the managed identity is used. */
  key?: string;
  database: string;
  managedIdentityClientId?: string;
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

/**
 * The Cosmos DB database. The local emulator's certificate is self-signed (and expired), so it is
 * accepted for a loopback endpoint only; every other endpoint gets normal TLS verification.
 */
export function connectCosmos(connection: CosmosConnection): Database {
  const isLoopback = LOOPBACK_HOSTS.has(new URL(connection.endpoint).hostname);
  const client = new CosmosClient({
    endpoint: connection.endpoint,
    ...(connection.key
      ? { key: connection.key }
      : {
          aadCredentials: new DefaultAzureCredential(
            connection.managedIdentityClientId
              ? { managedIdentityClientId: connection.managedIdentityClientId }
              : {},
          ),
        }),
    ...(isLoopback ? { agent: new Agent({ rejectUnauthorized: false, keepAlive: true }) } : {}),
    connectionPolicy: { enableEndpointDiscovery: !isLoopback },
  });
  return client.database(connection.database);
}
