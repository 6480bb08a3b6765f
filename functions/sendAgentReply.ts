import type { InvocationContext } from '@azure/functions';
import { appServices, invocationLog } from '../shared/app/services.js';
import type { QueueFunction } from '../shared/host/functionDefinition.js';
import { replyJobSchema } from '../shared/replies/replyJob.js';
import { recordPoisonedReply, sendReply } from '../shared/replies/sendReply.js';

/** Failures that may pass escape on purpose: the host retries the job and finally poisons it. */
export async function sendAgentReplyHandler(message: unknown, context: InvocationContext): Promise<void> {
  const job = replyJobSchema.safeParse(message);
  if (!job.success) {
    // A malformed job can never succeed; retrying it would only delay the poison queue.
    context.error(`sendAgentReply: invalid job ${JSON.stringify(message)}: ${job.error.issues[0]?.message}`);
    return;
  }
  const outcome = await sendReply(appServices().replyDependencies(invocationLog(context)), job.data);
  context.log(
    `sendAgentReply ${job.data.helpdeskId}/${job.data.ticketNumber}/${job.data.replyId}: ${outcome}`,
  );
}

export async function sendAgentReplyPoisonHandler(
  message: unknown,
  context: InvocationContext,
): Promise<void> {
  const job = replyJobSchema.safeParse(message);
  if (!job.success) {
    context.error(`sendAgentReplyPoison: unreadable poison message ${JSON.stringify(message)}`);
    return;
  }
  const failed = await recordPoisonedReply(appServices().replyDependencies(invocationLog(context)), job.data);
  context.error(
    `sendAgentReply job for ${job.data.helpdeskId}/${job.data.ticketNumber}/${job.data.replyId} failed on every delivery (poison queue)${failed ? '; the reply is failed' : ''}`,
  );
}

export const sendAgentReplyFunction: QueueFunction = {
  trigger: 'queue',
  name: 'sendAgentReply',
  queueName: '%REPLY_QUEUE_NAME%',
  connection: 'AzureWebJobsStorage',
  handler: sendAgentReplyHandler,
};

export const sendAgentReplyPoisonFunction: QueueFunction = {
  trigger: 'queue',
  name: 'sendAgentReplyPoison',
  queueName: '%REPLY_QUEUE_NAME%-poison',
  connection: 'AzureWebJobsStorage',
  handler: sendAgentReplyPoisonHandler,
};
