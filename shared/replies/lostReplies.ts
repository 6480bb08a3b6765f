import type { ReplyDependencies } from './ports.js';
import { errorText, isStale, replyIdOf, requeue, STALE_AFTER_MINUTES } from './replyLifecycle.js';

/** Replies looked at per sweep; more wait for the next one. */
const SWEEP_LIMIT = 100;

/**
 * Queues again every reply whose send job was lost (see isStale): a process that died between storing a
 * reply and queuing its job, or a job whose last delivery died while sending. A second job for a reply
 * whose job was only late is harmless: the send claims the reply and looks in Sent Items first. The
 * number of replies queued again.
 */
export async function requeueLostReplies(deps: ReplyDependencies): Promise<number> {
  const now = deps.clock();
  const before = new Date(now.getTime() - STALE_AFTER_MINUTES * 60_000).toISOString();
  let requeued = 0;
  for (const stored of await deps.replies.queuedUnchangedSince(before, SWEEP_LIMIT)) {
    if (!isStale(stored.reply, now)) continue;
    try {
      await requeue(deps, stored, 'Reply queued again (its send job was lost)');
      requeued += 1;
    } catch (error) {
      // Changed meanwhile (a retry, a late job): the next sweep looks again.
      deps.log.warn(`reply ${replyIdOf(stored.reply)} not queued again: ${errorText(error)}`);
    }
  }
  return requeued;
}
