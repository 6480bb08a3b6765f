import { describe, expect, it } from 'vitest';
import { replyThreading } from '../../shared/replies/replyThreading.js';
import type { MailOrigin, Supplement } from '../../shared/tickets/model.js';

function origin(internetMessageId: string | null): MailOrigin {
  return {
    messageKey: `key-${internetMessageId}`,
    mailboxId: 'main',
    internetMessageId,
    sender: null,
    rawMailBlob: null,
    attachments: [],
  };
}

type Entry = Parameters<typeof replyThreading>[1][number];

function customerMail(messageId: string | null, at: string, extra: Partial<Supplement> = {}): Entry {
  return {
    supplementType: 'importedFromMail',
    flagged: null,
    automatic: null,
    reportedAt: at,
    source: origin(messageId),
    ...extra,
  };
}

function ourReply(messageId: string, at: string): Entry {
  return { ...customerMail(messageId, at), supplementType: 'agentReply' };
}

const ticket = { reportedAt: '2026-11-01T08:00:00Z', source: origin('<first@customer.example>') };

describe('replyThreading', () => {
  it('answers the customer’s latest mail, references the thread up to it, oldest first', () => {
    const threading = replyThreading(ticket, [
      customerMail('<third@customer.example>', '2026-11-03T08:00:00Z'),
      ourReply('<hmi.a@helpdesk.example>', '2026-11-02T08:00:00Z'),
      ourReply('<hmi.b@helpdesk.example>', '2026-11-04T08:00:00Z'),
    ]);
    expect(threading).toEqual({
      inReplyTo: '<third@customer.example>',
      references: ['<first@customer.example>', '<hmi.a@helpdesk.example>', '<third@customer.example>'],
    });
  });

  it('skips mail that is not the customer’s answer: flagged, automatic, or without a Message-ID', () => {
    const threading = replyThreading(ticket, [
      customerMail('<stranger@elsewhere.example>', '2026-11-02T08:00:00Z', { flagged: 'unrelated sender' }),
      customerMail('<ooo@customer.example>', '2026-11-03T08:00:00Z', { automatic: 'out of office' }),
      customerMail(null, '2026-11-04T08:00:00Z'),
    ]);
    expect(threading.inReplyTo).toBe('<first@customer.example>');
    expect(threading.references).toEqual(['<first@customer.example>']);
  });

  it('without any customer Message-ID: no In-Reply-To, our own mails as References', () => {
    const threading = replyThreading({ ...ticket, source: origin(null) }, [
      ourReply('<hmi.a@helpdesk.example>', '2026-11-02T08:00:00Z'),
    ]);
    expect(threading).toEqual({ inReplyTo: null, references: ['<hmi.a@helpdesk.example>'] });
  });
});
