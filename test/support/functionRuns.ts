import { InvocationContext, type Timer } from '@azure/functions';
import { QueueClient } from '@azure/storage-queue';
import { importMailboxHandler } from '../../functions/importMailbox.js';
import { pollMailboxesHandler } from '../../functions/pollMailboxes.js';

/** An invocation context as the host would pass, collecting what the function logs. */
export function invocation(functionName: string, lines: string[] = []): InvocationContext {
  return new InvocationContext({
    functionName,
    invocationId: `${functionName}-${Math.random().toString(36).slice(2)}`,
    logHandler: (level, ...args) => lines.push(`${level}: ${args.map(String).join(' ')}`),
  });
}

const timer: Timer = {
  isPastDue: false,
  schedule: { adjustForDST: false },
  scheduleStatus: { last: '', next: '', lastUpdated: '' },
};

/** Fires the timer function, then runs the queue function on every job it enqueued, as the host would. */
export async function runTimerAndDrainQueue(
  env: Record<string, string>,
  lines: string[] = [],
): Promise<number> {
  await pollMailboxesHandler(timer, invocation('pollMailboxes', lines));
  const queue = new QueueClient(env.AzureWebJobsStorage ?? '', env.IMPORT_QUEUE_NAME ?? '');
  let jobs = 0;
  for (;;) {
    const { receivedMessageItems } = await queue.receiveMessages({
      numberOfMessages: 32,
      visibilityTimeout: 300,
    });
    if (receivedMessageItems.length === 0) return jobs;
    for (const message of receivedMessageItems) {
      const job: unknown = JSON.parse(Buffer.from(message.messageText, 'base64').toString('utf8'));
      await importMailboxHandler(job, invocation('importMailbox', lines));
      await queue.deleteMessage(message.messageId, message.popReceipt);
      jobs++;
    }
  }
}
