import type { QueueClient } from '@azure/storage-queue';
import { z } from 'zod';
import { identifier } from '../helpdesk/settings.js';

/** One job: import one mailbox of one helpdesk. Validated when enqueued and when received. */
export const importJobSchema = z.object({
  helpdeskId: identifier,
  mailboxId: identifier,
  /** notification: Graph said new mail came; missed: Graph said notifications were lost (full scan). */
  reason: z.enum(['timer', 'http', 'retry', 'start', 'notification', 'missed']),
  enqueuedAt: z.iso.datetime(),
  /** How often the job was put back because another run held the mailbox. */
  requeued: z.number().int().min(0).max(100).optional(),
});
export type ImportJob = z.infer<typeof importJobSchema>;

/** A notification job that found the mailbox busy is tried again this much later, at most MAX_BUSY_RETRIES times. */
export const BUSY_RETRY_SECONDS = 5;
const MAX_BUSY_RETRIES = 20;

/**
 * A job for mail Graph announced must not be dropped because a run already held the mailbox: that run
 * may have read the mailbox before the mail came. Timer jobs need no retry: the next tick comes anyway.
 */
export function busyRetry(job: ImportJob, status: string): ImportJob | null {
  if (status !== 'busy' || (job.reason !== 'notification' && job.reason !== 'missed')) return null;
  const requeued = (job.requeued ?? 0) + 1;
  return requeued > MAX_BUSY_RETRIES ? null : { ...job, requeued };
}

export interface JobQueue {
  /** `delaySeconds`: the jobs stay invisible that long (debouncing, retry later). */
  enqueue(jobs: ImportJob[], options?: { delaySeconds?: number }): Promise<void>;
}

const ENQUEUE_CONCURRENCY = 16;

/** Storage queue of import jobs; messages are base64 JSON, as the Functions host expects by default. */
export class StorageJobQueue implements JobQueue {
  constructor(private readonly queue: QueueClient) {}

  async enqueue(jobs: ImportJob[], options: { delaySeconds?: number } = {}): Promise<void> {
    const sendOptions = options.delaySeconds ? { visibilityTimeout: Math.ceil(options.delaySeconds) } : {};
    const messages = jobs.map((job) =>
      Buffer.from(JSON.stringify(importJobSchema.parse(job)), 'utf8').toString('base64'),
    );
    // Queue storage has no batch send: send in parallel, bounded, so thousands of jobs take seconds.
    for (let start = 0; start < messages.length; start += ENQUEUE_CONCURRENCY) {
      await Promise.all(
        messages.slice(start, start + ENQUEUE_CONCURRENCY).map((m) => this.queue.sendMessage(m, sendOptions)),
      );
    }
  }
}
