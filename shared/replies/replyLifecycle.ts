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

export function describeRecipients(reply: AgentReply): string {
  const { to, cc } = reply.delivery;
  const list = (addresses: { address: string }[]) => addresses.map((a) => a.address).join(', ');
  return cc.length > 0 ? `${list(to)} (cc ${list(cc)})` : list(to);
}

/**
 * A queued reply nothing has happened to for this long has lost its send job (the process died between
 * storing it and queuing the job, or the job's last delivery died while sending): it may be queued again.
 * A live job touches its reply within seconds of being queued and on every attempt (the host retries at
 * once); a longer wait only delays a lost reply, a shorter one only adds a harmless second job.
 */
export const STALE_AFTER_MINUTES = 5;

/** Whether a job holds the reply to send it right now. */
export function isClaimed(reply: AgentReply, now: Date): boolean {
  // Read with ?. : a reply stored before claims existed has none.
  const until = reply.delivery.claim?.until;
  return until !== undefined && Date.parse(until) > now.getTime();
}

/** Queued, not being sent, and untouched for STALE_AFTER_MINUTES: its send job was lost. */
export function isStale(reply: AgentReply, now: Date): boolean {
  return (
    reply.delivery.status === 'queued' &&
    !isClaimed(reply, now) &&
    Date.parse(reply.lastModifiedAt) <= now.getTime() - STALE_AFTER_MINUTES * 60_000
  );
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
  return saveDelivery(deps, current, { status: 'failed', error: reason, claim: null });
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

/** Queued once more, in a new round (its own history entry), with a new send job. */
export async function requeue(
  deps: ReplyDependencies,
  current: StoredReply,
  why: string,
): Promise<StoredReply> {
  const queued = await saveDelivery(deps, current, {
    status: 'queued',
    error: null,
    claim: null,
    round: current.reply.delivery.round + 1,
    roundAttempts: 0,
  });
  await replyHistory(
    deps,
    queued.reply,
    'agentReplyQueued',
    `${why} for ${describeRecipients(queued.reply)}.`,
  );
  await enqueueSend(deps, queued);
  return queued;
}
