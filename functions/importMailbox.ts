import type { InvocationContext } from '@azure/functions';
import { appServices, invocationLog } from '../shared/app/services.js';
import type { QueueFunction } from '../shared/host/functionDefinition.js';
import { importMailbox } from '../shared/import/importMailbox.js';
import { BUSY_RETRY_SECONDS, busyRetry, importJobSchema } from '../shared/queue/importJobs.js';

/** Failures escape on purpose: the host retries the job and finally moves it to the poison queue. */
export async function importMailboxHandler(message: unknown, context: InvocationContext): Promise<void> {
  const job = importJobSchema.safeParse(message);
  if (!job.success) {
    // A malformed job can never succeed; retrying it would only delay the poison queue.
    context.error(`importMailbox: invalid job ${JSON.stringify(message)}: ${job.error.issues[0]?.message}`);
    return;
  }
  const services = appServices();
  // From here a new notification needs a job of its own: this run may read the mailbox before its mail.
  if (job.data.reason === 'notification') await services.notificationStore.releaseImport(job.data);
  const result = await importMailbox(services.dependencies(invocationLog(context)), job.data, {
    trigger: job.data.reason,
    deadline: services.deadline(),
    telemetry: services.telemetry(context),
    fullScan: job.data.reason === 'missed',
  });
  const retry = busyRetry(job.data, result.status);
  if (retry) {
    // Another run holds the mailbox and may have read it before this notification's mail came.
    await services.jobQueue.enqueue([retry], { delaySeconds: BUSY_RETRY_SECONDS });
  }
  const c = result.counts;
  context.log(
    `importMailbox ${job.data.helpdeskId}/${job.data.mailboxId}: ${result.status}; created ${c.created}, supplemented ${c.supplemented}, skipped ${c.skipped}, kept aside ${c.keptAside}, failed ${c.failed}, already imported ${c.alreadyImported} in ${result.durationMs} ms`,
  );
}

export const importMailboxFunction: QueueFunction = {
  trigger: 'queue',
  name: 'importMailbox',
  queueName: '%IMPORT_QUEUE_NAME%',
  connection: 'AzureWebJobsStorage',
  handler: importMailboxHandler,
};
