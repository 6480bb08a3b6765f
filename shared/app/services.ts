import { readFileSync } from 'node:fs';
import type { InvocationContext } from '@azure/functions';
import { BlobImageStore, BlobRawMailStore } from '../blob/blobMailStores.js';
import { type Environment, environment } from '../config/environment.js';
import { mailboxAllowed } from '../config/mailboxAllowList.js';
import { blobServiceClient, queueServiceClient } from '../config/storage.js';
import { connectCosmos } from '../cosmos/cosmosClient.js';
import { CosmosContactDirectory } from '../cosmos/cosmosContactDirectory.js';
import { CosmosHelpdeskStore } from '../cosmos/cosmosHelpdeskStore.js';
import { CosmosMailRecordStore } from '../cosmos/cosmosMailRecordStore.js';
import { CosmosNotificationStore } from '../cosmos/cosmosNotificationStore.js';
import { CosmosReplyStore } from '../cosmos/cosmosReplyStore.js';
import { CosmosTicketStore } from '../cosmos/cosmosTicketStore.js';
import { createGraphClient } from '../graph/graphClient.js';
import { GraphMailSource } from '../graph/graphMailSource.js';
import type { ImportDependencies, ImportLog } from '../import/dependencies.js';
import type { NotificationStore, SubscriptionClient } from '../notifications/ports.js';
import { addressFreeLog, createTelemetry, type ImportTelemetry } from '../observability/telemetry.js';
import { type JobQueue, StorageJobQueue } from '../queue/importJobs.js';
import { StorageReplyJobQueue } from '../queue/replyJobs.js';
import type { ReplyDependencies } from '../replies/ports.js';
import { ticketImageUrl } from '../tickets/ticketImages.js';

/** Adapters shared by all invocations of this process; the per-invocation log goes in per call. */
export interface AppServices {
  env: Environment;
  dependencies(log: ImportLog): ImportDependencies;
  /** The same, plus the reply store and the reply send queue (R21). */
  replyDependencies(log: ImportLog): ReplyDependencies;
  jobQueue: JobQueue;
  telemetry(context: InvocationContext): ImportTelemetry;
  /** Epoch milliseconds by which a run started now must stop starting new messages. */
  deadline(): number;
  /** Change notifications; null when NOTIFICATION_URL is not set. */
  notifications: NotificationServices | null;
  /** Subscription state per mailbox, also read when notifications are off (status, safety net). */
  notificationStore: NotificationStore;
}

export interface NotificationServices {
  store: NotificationStore;
  graph: SubscriptionClient;
  notificationUrl: string;
  secret: string;
}

export function invocationLog(context: InvocationContext): ImportLog {
  return {
    info: (message) => context.log(message),
    warn: (message) => context.warn(message),
    error: (message) => context.error(message),
  };
}

export function createServices(env: Environment): AppServices {
  const database = connectCosmos({
    endpoint: env.COSMOS_ENDPOINT,
    database: env.COSMOS_DATABASE,
    ...(env.COSMOS_KEY ? { key: env.COSMOS_KEY } : {}),
    ...(env.AZURE_CLIENT_ID ? { managedIdentityClientId: env.AZURE_CLIENT_ID } : {}),
  });
  const blobs = blobServiceClient(env);
  const graph = createGraphClient({
    baseUrl: env.GRAPH_BASE_URL,
    ...(env.GRAPH_ACCESS_TOKEN ? { accessToken: env.GRAPH_ACCESS_TOKEN } : {}),
    ...(env.GRAPH_CA_CERT_PATH ? { caCertPem: readFileSync(env.GRAPH_CA_CERT_PATH, 'utf8') } : {}),
    ...(env.AZURE_CLIENT_ID ? { clientId: env.AZURE_CLIENT_ID } : {}),
  });
  const mailSource = new GraphMailSource(graph);
  const notificationStore = new CosmosNotificationStore(database);
  const shared = {
    helpdesks: new CosmosHelpdeskStore(database),
    contacts: new CosmosContactDirectory(database),
    tickets: new CosmosTicketStore(database),
    records: new CosmosMailRecordStore(database),
    images: new BlobImageStore(blobs, env.IMAGES_CONTAINER),
    rawMail: new BlobRawMailStore(blobs, env.RAW_MAIL_CONTAINER, env.KEPT_ASIDE_CONTAINER),
    mailSource,
  };
  const replies = new CosmosReplyStore(database);
  const replyJobs = new StorageReplyJobQueue(queueServiceClient(env).getQueueClient(env.REPLY_QUEUE_NAME));
  const dependencies = (log: ImportLog): ImportDependencies => ({
    ...shared,
    clock: () => new Date(),
    // Error texts end up in log lines (a failed send, a failed post-processing) and name addresses.
    log: addressFreeLog(log),
    mailboxAllowed: (userId) => mailboxAllowed(env.ALLOWED_MAILBOXES, userId),
    imageUrl: ticketImageUrl,
    checkpoint: () => undefined,
    sentItemsDelayMs: env.SENT_ITEMS_DELAY_SECONDS * 1000,
  });
  return {
    env,
    dependencies,
    replyDependencies: (log) => ({ ...dependencies(log), replies, replyJobs }),
    jobQueue: new StorageJobQueue(queueServiceClient(env).getQueueClient(env.IMPORT_QUEUE_NAME)),
    telemetry: (context) => createTelemetry(invocationLog(context)),
    deadline: () => Date.now() + env.IMPORT_TIME_BUDGET_SECONDS * 1000,
    notificationStore,
    notifications:
      env.NOTIFICATION_URL && env.NOTIFICATION_CLIENT_STATE_SECRET
        ? {
            store: notificationStore,
            graph: mailSource,
            notificationUrl: env.NOTIFICATION_URL,
            secret: env.NOTIFICATION_CLIENT_STATE_SECRET,
          }
        : null,
  };
}

let services: AppServices | undefined;

/** Built once, on first use — never at import time, so a bad setting fails an invocation, not the app load. */
export function appServices(): AppServices {
  services ??= createServices(environment());
  return services;
}
