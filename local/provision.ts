import type { Environment } from '../shared/config/environment.js';
import { blobServiceClient, queueServiceClient } from '../shared/config/storage.js';
import { ensureContainers } from '../shared/cosmos/containers.js';
import { connectCosmos } from '../shared/cosmos/cosmosClient.js';

/**
 * Creates on the local emulators what infra/ creates in Azure: the Cosmos database and containers, the
 * job queues and their poison queues, and the blob containers.
 */
export async function provisionLocalResources(env: Environment): Promise<void> {
  await ensureContainers(
    connectCosmos({
      endpoint: env.COSMOS_ENDPOINT,
      database: env.COSMOS_DATABASE,
      key: env.COSMOS_KEY ?? '',
    }),
  );
  const queues = queueServiceClient(env);
  for (const queue of [env.IMPORT_QUEUE_NAME, env.REPLY_QUEUE_NAME]) {
    for (const name of [queue, `${queue}-poison`]) await queues.getQueueClient(name).createIfNotExists();
  }
  const blobs = blobServiceClient(env);
  for (const name of [env.IMAGES_CONTAINER, env.RAW_MAIL_CONTAINER, env.KEPT_ASIDE_CONTAINER]) {
    await blobs.getContainerClient(name).createIfNotExists();
  }
}
