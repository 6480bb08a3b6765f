import type { QueueClient } from '@azure/storage-queue';
import type { ReplyJobQueue } from '../replies/ports.js';
import { type ReplyJob, replyJobSchema } from '../replies/replyJob.js';

/** Storage queue of reply send jobs; base64 JSON like the import jobs. */
export class StorageReplyJobQueue implements ReplyJobQueue {
  constructor(private readonly queue: QueueClient) {}

  async enqueue(job: ReplyJob, delayMs = 0): Promise<void> {
    await this.queue.sendMessage(
      Buffer.from(JSON.stringify(replyJobSchema.parse(job)), 'utf8').toString('base64'),
      delayMs > 0 ? { visibilityTimeout: Math.ceil(delayMs / 1000) } : {},
    );
  }
}
