import type { ImportJob } from '../queue/importJobs.js';
import type { HelpdeskStore } from './ports.js';

/** A job that failed every delivery lands on the poison queue; make that visible on the mailbox's status. */
export async function recordPoisonJob(helpdesks: HelpdeskStore, job: ImportJob, now: Date): Promise<void> {
  const status = await helpdesks.mailboxStatus(job.helpdeskId, job.mailboxId);
  await helpdesks.saveMailboxStatus({
    ...status,
    lastRunAt: now.toISOString(),
    lastRunComplete: false,
    lastError: {
      at: now.toISOString(),
      message: `import job (${job.reason}, enqueued ${job.enqueuedAt}) failed on every delivery and was moved to the poison queue`,
    },
  });
}
