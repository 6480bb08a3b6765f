import { clientStateFor, clientStateHash } from '../notifications/clientState.js';
import type { NotificationStore } from '../notifications/ports.js';
import { notificationsHealthy } from '../notifications/subscriptions.js';
import type { ImportJob, JobQueue } from '../queue/importJobs.js';
import type { HelpdeskStore, MailboxRef } from './ports.js';

/** With notifications on, the timer is the safety net: a mailbox whose notifications work waits this long. */
export interface SafetyNet {
  store: NotificationStore;
  intervalMs: number;
  /**
   * NOTIFICATION_CLIENT_STATE_SECRET when notifications are on: a subscription made under another
   * secret (just rotated) counts as unhealthy, so its mailbox is polled until the timer recreates it.
   */
  secret?: string;
}

/**
 * Whether the timer should enqueue the mailbox: always without notifications; with a healthy
 * subscription only when its last run is older than the safety net's interval (a dropped notification
 * is found then at the latest).
 */
export function pollDue(
  subscription: Parameters<typeof notificationsHealthy>[0],
  lastRunAt: string | null,
  now: Date,
  intervalMs: number,
  currentClientStateHash?: string,
): boolean {
  if (!notificationsHealthy(subscription, now, currentClientStateHash)) return true;
  return !lastRunAt || now.getTime() - Date.parse(lastRunAt) >= intervalMs;
}

async function due(helpdesks: HelpdeskStore, net: SafetyNet, ref: MailboxRef, now: Date): Promise<boolean> {
  const [subscription, status] = await Promise.all([
    net.store.subscription(ref),
    helpdesks.mailboxStatus(ref.helpdeskId, ref.mailboxId),
  ]);
  const currentHash = net.secret === undefined ? undefined : clientStateHash(clientStateFor(net.secret, ref));
  return pollDue(subscription, status.lastRunAt, now, net.intervalMs, currentHash);
}

/**
 * R2: one job per mailbox of every helpdesk with an enabled importer (with notifications on, only the
 * mailboxes the safety net says are due). Helpdesks come in pages from one query and each page's jobs
 * are sent in parallel, so thousands of helpdesks are not thousands of sequential round trips.
 */
export async function pollMailboxes(
  helpdesks: HelpdeskStore,
  queue: JobQueue,
  reason: ImportJob['reason'],
  now: Date,
  safetyNet?: SafetyNet,
): Promise<number> {
  let enqueued = 0;
  for await (const page of helpdesks.enabledMailboxes()) {
    const wanted = safetyNet
      ? (
          await Promise.all(
            page.map(async (ref) => ((await due(helpdesks, safetyNet, ref, now)) ? [ref] : [])),
          )
        ).flat()
      : page;
    if (wanted.length === 0) continue;
    await queue.enqueue(wanted.map((mailbox) => ({ ...mailbox, reason, enqueuedAt: now.toISOString() })));
    enqueued += wanted.length;
  }
  return enqueued;
}
