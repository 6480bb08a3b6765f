import { DefaultAzureCredential, ManagedIdentityCredential, type TokenCredential } from '@azure/identity';
import { BlobServiceClient } from '@azure/storage-blob';
import { QueueServiceClient } from '@azure/storage-queue';
import type { Environment } from './environment.js';

/**
 * Storage clients from the same connection the Functions host uses (`AzureWebJobsStorage`):
 * a connection string for the local emulator, or the identity-based form in Azure.
 */
function storageCredential(env: Environment): TokenCredential {
  const clientId = env.AzureWebJobsStorage__clientId ?? env.AZURE_CLIENT_ID;
  if (env.AzureWebJobsStorage__credential === 'managedidentity') {
    return clientId ? new ManagedIdentityCredential({ clientId }) : new ManagedIdentityCredential();
  }
  return new DefaultAzureCredential(clientId ? { managedIdentityClientId: clientId } : {});
}

function serviceUri(env: Environment, service: 'blob' | 'queue'): string {
  const explicit =
    service === 'blob' ? env.AzureWebJobsStorage__blobServiceUri : env.AzureWebJobsStorage__queueServiceUri;
  if (explicit) return explicit;
  return `https://${env.AzureWebJobsStorage__accountName}.${service}.core.windows.net`;
}

export function blobServiceClient(env: Environment): BlobServiceClient {
  if (env.AzureWebJobsStorage) return BlobServiceClient.fromConnectionString(env.AzureWebJobsStorage);
  return new BlobServiceClient(serviceUri(env, 'blob'), storageCredential(env));
}

export function queueServiceClient(env: Environment): QueueServiceClient {
  if (env.AzureWebJobsStorage) return QueueServiceClient.fromConnectionString(env.AzureWebJobsStorage);
  return new QueueServiceClient(serviceUri(env, 'queue'), storageCredential(env));
}
