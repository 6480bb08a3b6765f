import type { Readable } from 'node:stream';
import { HeaderInjectionError } from '../acknowledgement/headerSafety.js';
import { GraphRequestError } from '../graph/graphRequestError.js';
import type { Helpdesk, MailboxSettings } from '../helpdesk/settings.js';
import { OWN_MAIL_HEADER } from '../mail/classify.js';
import { composeOutgoingMime, type InlineImage } from '../mail/outgoingMime.js';
import { describeRecipients } from './agentReplies.js';
import type { ReplyDependencies } from './ports.js';
import type { ReplyJob } from './replyJob.js';
import { errorText, markFailed, replyHistory, type StoredReply, saveDelivery } from './replyLifecycle.js';

/** Sending the mail of an agent reply (R21), exactly once, from a queue job. */

export type SendOutcome = 'sent' | 'foundInSentItems' | 'failed' | 'nothingToDo';

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
  if (mailbox.userId.includes('@')) return mailbox.userId.toLowerCase();
  const { resolvedAddress } = await deps.helpdesks.mailboxStatus(helpdesk.id, mailbox.id);
  if (resolvedAddress?.userId === mailbox.userId) return resolvedAddress.address;
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
  await saveDelivery(deps, current, { status: 'sent', sentAt: deps.clock().toISOString(), error: null });
}

/**
 * Sends a queued reply's mail with Graph (MIME sendMail) from its mailbox. A send that was started
 * before (a redelivered job, a crash after sending, a 503 that may have gone through) looks in Sent
 * Items for the reply's Message-ID first and only records what it finds there. Failures that may pass
 * (throttling, outages) escape, so the host retries the job and finally poisons it; failures that
 * cannot pass fail the reply at once.
 */
export async function sendReply(deps: ReplyDependencies, job: ReplyJob): Promise<SendOutcome> {
  const found = await deps.replies.get(job.helpdeskId, job.ticketNumber, job.replyId);
  if (found?.reply.delivery.status !== 'queued') return 'nothingToDo';
  let current: StoredReply = found;
  const { delivery } = current.reply;
  const helpdesk = await deps.helpdesks.get(job.helpdeskId);
  const mailbox = helpdesk?.importer.mailboxes.find((m) => m.id === delivery.mailboxId);
  if (!helpdesk || !mailbox) {
    await markFailed(deps, current, `mailbox ${delivery.mailboxId} is no longer configured`);
    return 'failed';
  }
  if (!deps.mailboxAllowed(mailbox.userId)) {
    await markFailed(deps, current, `mailbox ${mailbox.id} is outside this deployment's ALLOWED_MAILBOXES`);
    return 'failed';
  }
  if (
    delivery.attempts > 0 &&
    (await deps.mailSource.sentMessageExists(mailbox.userId, delivery.messageId))
  ) {
    await recordSent(deps, current);
    return 'foundInSentItems';
  }
  // Counted before sending: from now on the mail may be out, and every later try checks Sent Items.
  current = await saveDelivery(deps, current, { attempts: delivery.attempts + 1 });
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
    if (isPermanent(error)) {
      await markFailed(deps, current, errorText(error));
      return 'failed';
    }
    // Kept for the GET and, once the host gives up, for the failed reply.
    await saveDelivery(deps, current, { error: errorText(error) });
    throw error;
  }
  await recordSent(deps, current);
  return 'sent';
}

/** The host gave up on the job (poison queue): the reply fails with the last reason, to be retried by a person. */
export async function recordPoisonedReply(deps: ReplyDependencies, job: ReplyJob): Promise<boolean> {
  const found = await deps.replies.get(job.helpdeskId, job.ticketNumber, job.replyId);
  if (found?.reply.delivery.status !== 'queued') return false;
  const reason = found.reply.delivery.error ?? 'unknown error';
  await markFailed(deps, found, `the send job failed on every delivery; last error: ${reason}`);
  return true;
}
