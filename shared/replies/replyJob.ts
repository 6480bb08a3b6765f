import { z } from 'zod';
import { identifier } from '../helpdesk/settings.js';

/** One job: send the mail of one agent reply. Validated when enqueued and when received. */
export const replyJobSchema = z.object({
  helpdeskId: identifier,
  ticketNumber: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  replyId: z.uuid(),
});
export type ReplyJob = z.infer<typeof replyJobSchema>;

/** The id of a reply's document among the ticket's documents. */
export function replyDocumentId(replyId: string): string {
  return `reply-${replyId}`;
}
