import type { ImportJob, JobQueue } from '../queue/importJobs.js';
import type { HelpdeskStore } from './ports.js';

/**
 * R2: one job per mailbox of every helpdesk with an enabled importer. Helpdesks come in pages from one
 * query and each page's jobs are sent in parallel, so thousands of helpdesks are not thousands of
 * sequential round trips.
 */
export async function pollMailboxes(
  helpdesks: HelpdeskStore,
  queue: JobQueue,
  reason: ImportJob['reason'],
  now: Date,
): Promise<number> {
  let enqueued = 0;
  for await (const page of helpdesks.enabledMailboxes()) {
    await queue.enqueue(page.map((mailbox) => ({ ...mailbox, reason, enqueuedAt: now.toISOString() })));
    enqueued += page.length;
  }
  return enqueued;
}
