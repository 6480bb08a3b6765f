import type { Readable } from 'node:stream';
import { HeaderInjectionError } from '../acknowledgement/headerSafety.js';
import { GraphRequestError } from '../graph/graphRequestError.js';
import { sentItemsWait } from '../graph/sentItems.js';
import type { Helpdesk, MailboxSettings } from '../helpdesk/settings.js';
import { ownAddress } from '../import/mailboxAddresses.js';
import { OWN_MAIL_HEADER } from '../mail/classify.js';
import { composeOutgoingMime, type InlineImage } from '../mail/outgoingMime.js';
import type { ReplyOutcome, ReplyTelemetry } from '../observability/telemetry.js';
import type { AgentReply, ReplyDependencies } from './ports.js';
import type { ReplyJob } from './replyJob.js';
import {
  describeRecipients,
  errorText,
  isClaimed,
  markFailed,
  replyHistory,
  replyJob,
  type StoredReply,
  saveDelivery,
} from './replyLifecycle.js';

/** Sending the mail of an agent reply (R21), exactly once, from a queue job. */

/**
 * How long a send job's claim on its reply holds: far longer than one send takes (Graph calls give up
 * within a minute or two), so it lapses only when the process holding it died. The job's own redelivery
 * takes its claim over at once; another job waits for the claim to lapse.
 */
const CLAIM_MINUTES = 10;

/**
 * Attempts per round after which a reply whose sends keep failing fails (until retried by a person): as many as the
 * host's default maxDequeueCount. Counted here, not by the host, because a job that waits for Sent Items
 * is queued again as a new message, whose deliveries the host counts from one.
 */
export const MAX_SEND_ATTEMPTS = 5;

/** A failure that no retry mends: the reply fails now instead of after the host's retries. */
class PermanentSendFailure extends Error {}

function isPermanent(error: unknown): boolean {
  return (
    error instanceof PermanentSendFailure ||
    error instanceof HeaderInjectionError ||
    // Graph refused the request itself (bad MIME, no such mailbox, no permission): nothing went out.
    (error instanceof GraphRequestError && !error.retryable && error.status >= 400 && error.status < 500)
  );
}

async function fromAddress(
  deps: ReplyDependencies,
  helpdesk: Helpdesk,
  mailbox: MailboxSettings,
): Promise<string> {
  const known =
    ownAddress(mailbox, null) ??
    ownAddress(mailbox, (await deps.helpdesks.mailboxStatus(helpdesk.id, mailbox.id)).resolvedAddress);
  if (known) return known;
  const address = await deps.mailSource.mailboxAddress(mailbox.userId);
  if (!address) throw new PermanentSendFailure(`Graph has no mail address for mailbox ${mailbox.id}`);
  return address;
}

async function bytes(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  return Buffer.concat(chunks);
}

async function inlineImages(deps: ReplyDependencies, current: StoredReply): Promise<InlineImage[]> {
  const { reply } = current;
  return Promise.all(
    reply.delivery.images.map(async (name) => {
      const image = await deps.images.openImage(reply.helpdeskId, reply.ticketNumber, name);
      if (!image) throw new PermanentSendFailure(`image ${name} of the ticket is no longer stored`);
      return {
        contentId: name,
        filename: name,
        contentType: image.contentType,
        content: await bytes(image.content),
      };
    }),
  );
}

async function recordSent(deps: ReplyDependencies, current: StoredReply): Promise<void> {
  // History first: a crash between the two leaves a reply that the next delivery finds in Sent Items.
  await replyHistory(
    deps,
    current.reply,
    'agentReplySent',
    `Reply sent to ${describeRecipients(current.reply)}.`,
  );
  await saveDelivery(deps, current, {
    status: 'sent',
    sentAt: deps.clock().toISOString(),
    error: null,
    claim: null,
  });
}

/** The job that is sending a reply, as its queue delivers it: redeliveries of one message share its id. */
export interface SendJob extends ReplyJob {
  /** The queue message's id. */
  messageId: string;
}

interface SendResult {
  outcome: Exclude<ReplyOutcome, 'retrying'>;
  reason: string | null;
}

/**
 * Takes the reply for this job and counts the attempt, if it is still at the version read: of two jobs
 * for one reply only one gets it. From now on the mail may be out, and every later attempt looks in Sent
 * Items first (once it could show it). Null when another job changed the reply meanwhile.
 */
async function claim(
  deps: ReplyDependencies,
  current: StoredReply,
  job: SendJob,
): Promise<StoredReply | null> {
  const now = deps.clock();
  const until = new Date(now.getTime() + CLAIM_MINUTES * 60_000).toISOString();
  const reply: AgentReply = {
    ...current.reply,
    delivery: {
      ...current.reply.delivery,
      attempts: current.reply.delivery.attempts + 1,
      roundAttempts: (current.reply.delivery.roundAttempts ?? 0) + 1,
      lastAttemptAt: now.toISOString(),
      claim: { by: job.messageId, until },
    },
    lastModifiedAt: deps.clock().toISOString(),
  };
  const etag = await deps.replies.replace(reply, current.etag);
  return etag === null ? null : { reply, etag };
}

async function deliver(
  deps: ReplyDependencies,
  job: SendJob,
  seen: { current: StoredReply | null },
): Promise<SendResult> {
  const found = await deps.replies.get(job.helpdeskId, job.ticketNumber, job.replyId);
  seen.current = found;
  if (found?.reply.delivery.status !== 'queued') return { outcome: 'nothingToDo', reason: null };
  const claimedBy = found.reply.delivery.claim?.by;
  if (isClaimed(found.reply, deps.clock()) && claimedBy !== job.messageId) {
    return { outcome: 'inProgressElsewhere', reason: `being sent by job ${claimedBy}` };
  }
  const { delivery } = found.reply;
  const helpdesk = await deps.helpdesks.get(job.helpdeskId);
  const mailbox = helpdesk?.importer.mailboxes.find((m) => m.id === delivery.mailboxId);
  if (!helpdesk || !mailbox) {
    return failed(deps, seen, found, `mailbox ${delivery.mailboxId} is no longer configured`);
  }
  if (!deps.mailboxAllowed(mailbox.userId)) {
    return failed(deps, seen, found, `mailbox ${mailbox.id} is outside this deployment's ALLOWED_MAILBOXES`);
  }
  if (delivery.attempts > 0) {
    // An earlier attempt may have sent it: Sent Items tells, once it can show the mail.
    const wait = sentItemsWait(delivery.lastAttemptAt, deps.clock(), deps.sentItemsDelayMs);
    if (wait > 0) return waitForSentItems(deps, seen, found, wait);
    if (await deps.mailSource.sentMessageExists(mailbox.userId, delivery.messageId)) {
      await recordSent(deps, found);
      return { outcome: 'alreadySent', reason: null };
    }
    const roundAttempts = delivery.roundAttempts ?? 0;
    if (roundAttempts >= MAX_SEND_ATTEMPTS) {
      const reason = `the send failed on every one of ${roundAttempts} attempts; last error: ${delivery.error ?? 'unknown error'}`;
      return failed(deps, seen, found, reason);
    }
  }
  const current = await claim(deps, found, job);
  if (!current) return { outcome: 'inProgressElsewhere', reason: 'another job took the reply meanwhile' };
  seen.current = current;
  try {
    const mime = await composeOutgoingMime({
      from: { address: await fromAddress(deps, helpdesk, mailbox), name: helpdesk.name },
      to: delivery.to,
      cc: delivery.cc,
      subject: delivery.subject,
      text: delivery.text,
      html: delivery.html,
      inlineImages: await inlineImages(deps, current),
      messageId: delivery.messageId,
      inReplyTo: delivery.inReplyTo,
      references: delivery.references,
      // Marked as ours so that it is never imported should it come back; written by a person, so no Auto-Submitted.
      headers: { [OWN_MAIL_HEADER]: 'agentReply' },
    });
    await deps.mailSource.sendMime(mailbox.userId, mime);
  } catch (error) {
    if (isPermanent(error)) return failed(deps, seen, current, errorText(error));
    // Kept for the GET and, once the host gives up, for the failed reply; the claim ends with the attempt.
    seen.current = await saveDelivery(deps, current, { error: errorText(error), claim: null });
    throw error;
  }
  await recordSent(deps, current);
  return { outcome: 'sent', reason: null };
}

/**
 * The previous attempt started too recently for Sent Items to show its mail: the job is queued again for
 * when it would, and this delivery ends (never a failure, so the host's retries are not used up on
 * waiting). A claim this job's own earlier delivery left (it died mid-send) is released for the new job.
 */
async function waitForSentItems(
  deps: ReplyDependencies,
  seen: { current: StoredReply | null },
  found: StoredReply,
  waitMs: number,
): Promise<SendResult> {
  if (found.reply.delivery.claim) seen.current = await saveDelivery(deps, found, { claim: null });
  await deps.replyJobs.enqueue(replyJob(found.reply), waitMs);
  return {
    outcome: 'waitingForSentItems',
    reason: `the last attempt started less than ${Math.round(deps.sentItemsDelayMs / 1000)} s ago; looking into Sent Items in ${Math.ceil(waitMs / 1000)} s`,
  };
}

async function failed(
  deps: ReplyDependencies,
  seen: { current: StoredReply | null },
  current: StoredReply,
  reason: string,
): Promise<SendResult> {
  seen.current = await markFailed(deps, current, reason);
  return { outcome: 'failed', reason };
}

function record(
  telemetry: ReplyTelemetry,
  job: ReplyJob,
  reply: AgentReply | undefined,
  result: { outcome: ReplyOutcome; reason: string | null },
  startedAt: number,
): void {
  telemetry.replyOutcome({
    helpdeskId: job.helpdeskId,
    mailboxId: reply?.delivery.mailboxId ?? null,
    ticketNumber: job.ticketNumber,
    replyId: job.replyId,
    attempts: reply?.delivery.attempts ?? 0,
    round: reply?.delivery.round ?? 0,
    durationMs: performance.now() - startedAt,
    ...result,
  });
}

/**
 * Sends a queued reply's mail with Graph (MIME sendMail) from its mailbox, exactly once: the job claims
 * the reply first (If-Match on its version), so no two jobs send it at once, and an attempt after one that
 * started (a redelivered job, a crash after sending, a 503 that may have gone through, a second job for a
 * reply whose first job's claim lapsed) looks in Sent Items for the reply's Message-ID and only records
 * what it finds there — but not before Sent Items could show a mail sent by that attempt: until then the
 * job is queued again for later. Failures that may pass (throttling, outages) escape, so the host retries
 * the job; after MAX_SEND_ATTEMPTS the reply fails, as when the host finally poisons the job. Failures that
 * cannot pass fail the reply at once. One telemetry record per call.
 */
export async function sendReply(
  deps: ReplyDependencies,
  job: SendJob,
  telemetry: ReplyTelemetry,
): Promise<ReplyOutcome> {
  const startedAt = performance.now();
  const seen: { current: StoredReply | null } = { current: null };
  try {
    const result = await deliver(deps, job, seen);
    record(telemetry, job, seen.current?.reply, result, startedAt);
    return result.outcome;
  } catch (error) {
    record(telemetry, job, seen.current?.reply, { outcome: 'retrying', reason: errorText(error) }, startedAt);
    throw error;
  }
}

/**
 * The host gave up on the job (poison queue): the reply fails with the last reason, to be retried by a
 * person. Not while another job holds it: that job's outcome decides.
 */
export async function recordPoisonedReply(
  deps: ReplyDependencies,
  job: ReplyJob,
  telemetry: ReplyTelemetry,
): Promise<boolean> {
  const startedAt = performance.now();
  const found = await deps.replies.get(job.helpdeskId, job.ticketNumber, job.replyId);
  if (found?.reply.delivery.status !== 'queued' || isClaimed(found.reply, deps.clock())) return false;
  const reason = `the send job failed on every delivery; last error: ${found.reply.delivery.error ?? 'unknown error'}`;
  const failedReply = await markFailed(deps, found, reason);
  record(telemetry, job, failedReply.reply, { outcome: 'failed', reason }, startedAt);
  return true;
}
