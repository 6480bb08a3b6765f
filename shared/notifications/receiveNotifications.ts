import { z } from 'zod';
import { ApiError } from '../http/errors.js';
import type { HelpdeskStore, MailboxRef } from '../import/ports.js';
import type { ImportJob, JobQueue } from '../queue/importJobs.js';
import { clientStateMatches } from './clientState.js';
import { ensureSubscription, type SubscriptionDependencies } from './subscriptions.js';

/**
 * A burst of notifications for one mailbox gives a handful of import jobs, not one each: the first
 * notification claims the mailbox's next import (a document in Cosmos DB) and enqueues a job that becomes
 * visible DEBOUNCE_MS later; the job releases the claim when it starts, before it reads the mailbox. A
 * notification that finds the claim taken is covered by that job. The queue's visibility delay and the
 * claim are both durable: nothing is kept in an instance's memory, which Flex Consumption may drop.
 */
export const DEBOUNCE_MS = 1_000;
/** A claim whose job never started (lost, or poisoned) stops debouncing after this long. */
const CLAIM_STALE_MS = 5 * 60_000;

const notificationSchema = z.object({
  subscriptionId: z.string().min(1),
  clientState: z.string().nullish(),
  changeType: z.string().optional(),
  lifecycleEvent: z.enum(['reauthorizationRequired', 'subscriptionRemoved', 'missed']).optional(),
});
export const notificationsBodySchema = z.object({
  value: z.array(notificationSchema.loose()).min(1).max(1000),
});
export type NotificationsBody = z.infer<typeof notificationsBodySchema>;

export interface NotificationOutcome {
  /** Import jobs enqueued (0 while an earlier one's window is open). */
  enqueued: number;
  lifecycleEvents: string[];
}

/**
 * A POST of change or lifecycle notifications for one mailbox. Every notification's clientState must
 * be the mailbox's (else 401 and nothing happens); then new mail enqueues the mailbox's import
 * (debounced), `reauthorizationRequired` renews the subscription, `subscriptionRemoved` creates it
 * again and catches up, `missed` runs a full scan.
 */
export async function receiveNotifications(
  deps: SubscriptionDependencies & { helpdesks: HelpdeskStore; queue: JobQueue },
  ref: MailboxRef,
  body: NotificationsBody,
): Promise<NotificationOutcome> {
  const notifications = body.value;
  if (!notifications.every((n) => clientStateMatches(deps.secret, ref, n.clientState))) {
    throw new ApiError('unauthenticated', 'clientState does not match the subscription');
  }
  const outcome: NotificationOutcome = { enqueued: 0, lifecycleEvents: [] };
  const job = (reason: ImportJob['reason']): ImportJob => ({
    ...ref,
    reason,
    enqueuedAt: deps.clock().toISOString(),
  });
  let importWanted = false;
  let fullScan = false;
  for (const notification of notifications) {
    const event = notification.lifecycleEvent;
    if (!event) {
      importWanted = true;
      continue;
    }
    outcome.lifecycleEvents.push(event);
    if (event === 'missed') {
      fullScan = true;
      continue;
    }
    const helpdesk = await deps.helpdesks.get(ref.helpdeskId);
    const mailbox = helpdesk?.importer.mailboxes.find((m) => m.id === ref.mailboxId);
    if (!mailbox) continue;
    await ensureSubscription(deps, ref, mailbox, event === 'subscriptionRemoved' ? 'create' : 'renew');
    // Mail that came while there was no subscription: the next run finds it.
    if (event === 'subscriptionRemoved') importWanted = true;
  }
  if (fullScan) {
    await deps.queue.enqueue([job('missed')]);
    outcome.enqueued++;
  } else if (importWanted && (await deps.store.claimImport(ref, CLAIM_STALE_MS))) {
    await deps.queue.enqueue([job('notification')], { delaySeconds: DEBOUNCE_MS / 1000 });
    outcome.enqueued++;
  }
  return outcome;
}
