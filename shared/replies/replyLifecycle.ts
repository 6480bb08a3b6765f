import type { PersonReference } from '../helpdesk/settings.js';
import type { ReplyDelivery } from '../tickets/model.js';
import { historyEntry } from '../tickets/ticketFields.js';
import type { AgentReply, ReplyDependencies } from './ports.js';
import type { ReplyJob } from './replyJob.js';

/** The steps of a reply's life that more than one use case takes: its history entries and its states. */

export interface StoredReply {
  reply: AgentReply;
  etag: string;
}

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function replyJob(reply: AgentReply): ReplyJob {
  return { helpdeskId: reply.helpdeskId, ticketNumber: reply.ticketNumber, replyId: replyIdOf(reply) };
}

export function replyIdOf(reply: AgentReply): string {
  return reply.id.replace(/^reply-/, '');
}

/** Writes the reply's new delivery state if nobody changed the reply meanwhile; else throws (a retry reads it again). */
export async function saveDelivery(
  deps: ReplyDependencies,
  current: StoredReply,
  change: Partial<ReplyDelivery>,
): Promise<StoredReply> {
  const reply: AgentReply = {
    ...current.reply,
    delivery: { ...current.reply.delivery, ...change },
    lastModifiedAt: deps.clock().toISOString(),
  };
  const etag = await deps.replies.replace(reply, current.etag);
  if (etag === null) throw new Error(`reply ${reply.id} was changed by another request at the same time`);
  return { reply, etag };
}

/** One history entry per event and round of the reply: written again, it stays one. */
export async function replyHistory(
  deps: ReplyDependencies,
  reply: AgentReply,
  event: 'agentReplyQueued' | 'agentReplySent' | 'agentReplyFailed',
  text: string,
  by: PersonReference = reply.createdBy,
): Promise<void> {
  await deps.tickets.putHistory(
    historyEntry({
      ticket: { ticketKey: reply.ticketKey, helpdeskId: reply.helpdeskId, number: reply.ticketNumber },
      event,
      at: deps.clock().toISOString(),
      by,
      text,
      messageKey: `${reply.id}-${reply.delivery.round}`,
    }),
  );
}

/** Failed for good (until retried): history first, so a crash between the two leaves the entry, not a gap. */
export async function markFailed(
  deps: ReplyDependencies,
  current: StoredReply,
  reason: string,
): Promise<StoredReply> {
  await replyHistory(deps, current.reply, 'agentReplyFailed', `Reply not sent: ${reason}`);
  return saveDelivery(deps, current, { status: 'failed', error: reason });
}

/** Puts the send job on the queue; a reply whose job cannot be queued is failed, so that it can be retried. */
export async function enqueueSend(deps: ReplyDependencies, current: StoredReply): Promise<void> {
  try {
    await deps.replyJobs.enqueue(replyJob(current.reply));
  } catch (error) {
    await markFailed(deps, current, `the send job could not be queued: ${errorText(error)}`);
    throw error;
  }
}
