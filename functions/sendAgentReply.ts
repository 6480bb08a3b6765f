import type { InvocationContext, Timer } from '@azure/functions';
import { appServices, invocationLog } from '../shared/app/services.js';
import type { QueueFunction, TimerFunction } from '../shared/host/functionDefinition.js';
import { createReplyTelemetry } from '../shared/observability/telemetry.js';
import { requeueLostReplies } from '../shared/replies/lostReplies.js';
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
  const log = invocationLog(context);
  const outcome = await sendReply(
    appServices().replyDependencies(log),
    // Redeliveries of one queue message share its id: a redelivery takes over its own claim on the reply.
    { ...job.data, messageId: String(context.triggerMetadata?.id ?? context.invocationId) },
    createReplyTelemetry(log),
  );
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
  const log = invocationLog(context);
  const failed = await recordPoisonedReply(
    appServices().replyDependencies(log),
    job.data,
    createReplyTelemetry(log),
  );
  context.error(
    `sendAgentReply job for ${job.data.helpdeskId}/${job.data.ticketNumber}/${job.data.replyId} failed on every delivery (poison queue)${failed ? '; the reply is failed' : ''}`,
  );
}

export async function requeueLostRepliesHandler(_timer: Timer, context: InvocationContext): Promise<void> {
  const requeued = await requeueLostReplies(appServices().replyDependencies(invocationLog(context)));
  if (requeued > 0)
    context.warn(`requeueLostReplies: ${requeued} reply(ies) whose send job was lost queued again`);
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

/** Every 5 minutes, as often as a reply can become stale (STALE_AFTER_MINUTES): a lost reply waits at most twice that. */
export const requeueLostRepliesFunction: TimerFunction = {
  trigger: 'timer',
  name: 'requeueLostReplies',
  schedule: '0 */5 * * * *',
  handler: requeueLostRepliesHandler,
};
