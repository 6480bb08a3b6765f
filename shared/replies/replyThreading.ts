import type { Supplement, Ticket } from '../tickets/model.js';

/** The threading headers of an agent reply (R17). Pure. */

interface ThreadMessage {
  messageId: string;
  at: string;
  fromCustomer: boolean;
}

type ThreadSupplement = Pick<
  Supplement,
  'supplementType' | 'flagged' | 'automatic' | 'reportedAt' | 'source' | 'delivery'
>;

function customerWrote(supplement: ThreadSupplement): boolean {
  // A flagged mail may be a stranger's; an automatic one is nobody's answer.
  return (
    supplement.supplementType === 'importedFromMail' &&
    supplement.flagged === null &&
    supplement.automatic === null
  );
}

/**
 * In-Reply-To the customer's latest mail on the ticket; References every mail of the ticket up to it,
 * ours included, oldest first. Without any customer Message-ID: no In-Reply-To, our own mails only.
 */
export function replyThreading(
  ticket: Pick<Ticket, 'reportedAt' | 'source'>,
  supplements: ThreadSupplement[],
): { inReplyTo: string | null; references: string[] } {
  const messages: ThreadMessage[] = [];
  if (ticket.source.internetMessageId) {
    messages.push({ messageId: ticket.source.internetMessageId, at: ticket.reportedAt, fromCustomer: true });
  }
  for (const supplement of supplements) {
    const messageId = supplement.delivery?.messageId ?? supplement.source.internetMessageId;
    if (!messageId) continue;
    messages.push({ messageId, at: supplement.reportedAt, fromCustomer: customerWrote(supplement) });
  }
  messages.sort((a, b) => a.at.localeCompare(b.at));
  const parent = messages.map((m) => m.fromCustomer).lastIndexOf(true);
  const thread = parent < 0 ? messages : messages.slice(0, parent + 1);
  return {
    inReplyTo: parent < 0 ? null : (messages[parent]?.messageId ?? null),
    references: [...new Set(thread.map((m) => m.messageId))],
  };
}
