import type { ImportDependencies } from '../import/dependencies.js';
import type { ReplyDelivery, Supplement } from '../tickets/model.js';
import type { ReplyJob } from './replyJob.js';

/** An agent's answer: a supplement of the ticket (its history shows it) carrying its outgoing mail. */
export type AgentReply = Supplement & { supplementType: 'agentReply'; delivery: ReplyDelivery };

export interface ReplyStore {
  /** Stores a new reply with the ticket's documents; its version, or null when a reply with its id exists. */
  create(reply: AgentReply): Promise<string | null>;
  /** The reply with its version; null when the ticket has no such reply. */
  get(
    helpdeskId: string,
    ticketNumber: number,
    replyId: string,
  ): Promise<{ reply: AgentReply; etag: string } | null>;
  /** Replaces the reply if it is still at `etag`; its new version, or null when it changed meanwhile. */
  replace(reply: AgentReply, etag: string): Promise<string | null>;
  /** Up to `limit` queued replies of every helpdesk not changed since `before` (ISO), with their versions. */
  queuedUnchangedSince(before: string, limit: number): Promise<Array<{ reply: AgentReply; etag: string }>>;
}

export interface ReplyJobQueue {
  /** `delayMs`: the job becomes visible only after that long. */
  enqueue(job: ReplyJob, delayMs?: number): Promise<void>;
}

/** The import's adapters (tickets, images, Graph, …) plus where replies and their send jobs live. */
export interface ReplyDependencies extends ImportDependencies {
  replies: ReplyStore;
  replyJobs: ReplyJobQueue;
}
