import type { QueueClient } from '@azure/storage-queue';
import { z } from 'zod';
import { identifier } from '../helpdesk/settings.js';

/** One job: import one mailbox of one helpdesk. Validated when enqueued and when received. */
export const importJobSchema = z.object({
  helpdeskId: identifier,
  mailboxId: identifier,
  reason: z.enum(['timer', 'http', 'retry', 'start']),
  enqueuedAt: z.iso.datetime(),
});
export type ImportJob = z.infer<typeof importJobSchema>;

export interface JobQueue {
  enqueue(jobs: ImportJob[]): Promise<void>;
}

const ENQUEUE_CONCURRENCY = 16;

/** Storage queue of import jobs; messages are base64 JSON, as the Functions host expects by default. */
export class StorageJobQueue implements JobQueue {
  constructor(private readonly queue: QueueClient) {}

  async enqueue(jobs: ImportJob[]): Promise<void> {
    const messages = jobs.map((job) =>
      Buffer.from(JSON.stringify(importJobSchema.parse(job)), 'utf8').toString('base64'),
    );
    // Queue storage has no batch send: send in parallel, bounded, so thousands of jobs take seconds.
    for (let start = 0; start < messages.length; start += ENQUEUE_CONCURRENCY) {
      await Promise.all(
        messages.slice(start, start + ENQUEUE_CONCURRENCY).map((m) => this.queue.sendMessage(m)),
      );
    }
  }
}
