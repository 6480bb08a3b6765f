import type { InvocationContext } from '@azure/functions';
import { appServices, invocationLog } from '../shared/app/services.js';
import type { QueueFunction } from '../shared/host/functionDefinition.js';
import { recordPoisonJob } from '../shared/import/recordPoisonJob.js';
import { importJobSchema } from '../shared/queue/importJobs.js';

export async function importMailboxPoisonHandler(
  message: unknown,
  context: InvocationContext,
): Promise<void> {
  const job = importJobSchema.safeParse(message);
  if (!job.success) {
    context.error(`importMailboxPoison: unreadable poison message ${JSON.stringify(message)}`);
    return;
  }
  const { helpdesks } = appServices().dependencies(invocationLog(context));
  await recordPoisonJob(helpdesks, job.data, new Date());
  context.error(
    `importMailbox job for ${job.data.helpdeskId}/${job.data.mailboxId} failed on every delivery (poison queue)`,
  );
}

export const importMailboxPoisonFunction: QueueFunction = {
  trigger: 'queue',
  name: 'importMailboxPoison',
  queueName: '%IMPORT_QUEUE_NAME%-poison',
  connection: 'AzureWebJobsStorage',
  handler: importMailboxPoisonHandler,
};
