import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { MailKind } from '../../shared/mail/classify.js';
import type { ParsedMail } from '../../shared/mail/parsedMail.js';
import {
  decideTarget,
  needsThreadMatch,
  referencedMessageIds,
  type TargetInput,
  type TicketFacts,
} from '../../shared/tickets/threading.js';
import { glpiCorpus } from '../support/fixtures.js';
import { emptyParsedMail, parsedMailFromFile } from '../support/parsedMailFromFile.js';

function mailWith(inReplyTo: string[], references: string[]): ParsedMail {
  return { ...emptyParsedMail(), messageId: '<self@x.example>', inReplyTo, references };
}

describe('referencedMessageIds', () => {
  it('puts In-Reply-To first, then References newest first', () => {
    const mail = mailWith(['<c@x.example>'], ['<a@x.example>', '<b@x.example>', '<c@x.example>']);
    expect(referencedMessageIds(mail)).toEqual(['<c@x.example>', '<b@x.example>', '<a@x.example>']);
  });

  it('keeps the exact spelling, trims, and adds missing angle brackets', () => {
    const mail = mailWith([' <Abc.Def@Host.EXAMPLE> '], ['plain@x.example', ' <Q@x.example>']);
    expect(referencedMessageIds(mail)).toEqual([
      '<Abc.Def@Host.EXAMPLE>',
      '<Q@x.example>',
      '<plain@x.example>',
    ]);
  });

  it('splits values that hold several ids and drops garbage', () => {
    const mail = mailWith([], ['<a@x.example> <b@x.example>', 'not-an-id', '']);
    expect(referencedMessageIds(mail)).toEqual(['<b@x.example>', '<a@x.example>']);
  });

  it('is empty for a mail that answers nothing', () => {
    expect(referencedMessageIds(mailWith([], []))).toEqual([]);
  });

  it('keeps only the newest ids of a very long chain', () => {
    const chain = Array.from({ length: 500 }, (_, index) => `<m${index}@x.example>`);
    const ids = referencedMessageIds(mailWith([], chain));
    expect(ids).toHaveLength(100);
    expect(ids[0]).toBe('<m499@x.example>');
  });

  it('reads the corpus follow-ups', async () => {
    const followup = await parsedMailFromFile(path.join(glpiCorpus, '04-ticket-followup.eml'));
    expect(referencedMessageIds(followup)).toEqual([
      '<GLPI-Ticket-1155.1554270788.1601670865@mycomputer>',
      '<GLPI-1155.1554270788.1601670865@mycomputer>',
    ]);
    const proton = await parsedMailFromFile(path.join(glpiCorpus, '46-proton-android-mail-response.eml'));
    expect(referencedMessageIds(proton)).toEqual(['<GLPI-Ticket-100.1554270788.1601670865@mycomputer>']);
  });
});

const ticket7: TicketFacts = {
  number: 7,
  contactAddresses: ['anna@customer.example', 'Colleague@Customer.example'],
  organisationId: 'org-customer',
};
const ticket9: TicketFacts = { number: 9, contactAddresses: ['zed@other.example'], organisationId: null };

function input(overrides: Partial<TargetInput> = {}): TargetInput {
  return {
    subjectNumbers: [],
    knownTickets: new Map([
      [7, ticket7],
      [9, ticket9],
    ]),
    threadMatch: null,
    sender: 'anna@customer.example',
    senderOrganisationId: 'org-customer',
    classification: 'normal',
    settings: { unrelatedSender: 'acceptAndFlag', autoReplies: 'skip' },
    ...overrides,
  };
}

const stranger = { sender: 'mallory@elsewhere.example', senderOrganisationId: null };

describe('decideTarget', () => {
  it('creates a ticket for a new normal mail', () => {
    expect(decideTarget(input())).toEqual({ action: 'createTicket' });
  });

  it('supplements the ticket of a known subject number', () => {
    expect(decideTarget(input({ subjectNumbers: [7] }))).toEqual({
      action: 'supplement',
      ticketNumber: 7,
      flagged: false,
      via: 'subject',
    });
  });

  it('ignores subject numbers that are not tickets of this helpdesk', () => {
    expect(decideTarget(input({ subjectNumbers: [404] }))).toEqual({ action: 'createTicket' });
    expect(decideTarget(input({ subjectNumbers: [404, 7] }))).toMatchObject({
      ticketNumber: 7,
      via: 'subject',
    });
  });

  it('takes the most confident known number', () => {
    expect(decideTarget(input({ subjectNumbers: [7, 9] }))).toMatchObject({ ticketNumber: 7 });
  });

  it('treats contact addresses case-insensitively and the same organisation as related', () => {
    expect(decideTarget(input({ subjectNumbers: [7], sender: 'colleague@customer.EXAMPLE' }))).toMatchObject({
      flagged: false,
    });
    expect(
      decideTarget(
        input({
          subjectNumbers: [7],
          sender: 'new.person@customer.example',
          senderOrganisationId: 'org-customer',
        }),
      ),
    ).toMatchObject({ action: 'supplement', flagged: false });
  });

  it('does not relate two senders just because neither has an organisation', () => {
    expect(
      decideTarget(
        input({ subjectNumbers: [9], sender: 'someone@else.example', senderOrganisationId: null }),
      ),
    ).toMatchObject({ flagged: true });
  });

  it.each([
    [
      'internalAndFlag',
      { action: 'supplement', ticketNumber: 7, flagged: true, via: 'subject', internal: true },
    ],
    ['accept', { action: 'supplement', ticketNumber: 7, flagged: false, via: 'subject' }],
    ['acceptAndFlag', { action: 'supplement', ticketNumber: 7, flagged: true, via: 'subject' }],
    ['newTicket', { action: 'createTicket' }],
  ] as const)('handles an unrelated sender with setting %s', (unrelatedSender, expected) => {
    const decision = decideTarget(
      input({ subjectNumbers: [7], ...stranger, settings: { unrelatedSender, autoReplies: 'skip' } }),
    );
    expect(decision).toEqual(expected);
  });

  it('counts a stranger whose mail threads into that very ticket as related', () => {
    const decision = decideTarget(
      input({
        subjectNumbers: [7],
        threadMatch: 7,
        ...stranger,
        settings: { unrelatedSender: 'newTicket', autoReplies: 'skip' },
      }),
    );
    expect(decision).toEqual({ action: 'supplement', ticketNumber: 7, flagged: false, via: 'subject' });
  });

  it.each(['internalAndFlag', 'accept', 'acceptAndFlag', 'newTicket'] as const)(
    'sends a stranger whose mail threads into another ticket to that ticket (%s)',
    (unrelatedSender) => {
      // Regression: under newTicket every reply quoting the first subject's "[#7]" made one more ticket.
      const decision = decideTarget(
        input({
          subjectNumbers: [7],
          threadMatch: 9,
          ...stranger,
          settings: { unrelatedSender, autoReplies: 'skip' },
        }),
      );
      expect(decision).toEqual({ action: 'supplement', ticketNumber: 9, flagged: false, via: 'references' });
    },
  );

  it('lets the subject win over a thread that points at another ticket', () => {
    expect(decideTarget(input({ subjectNumbers: [7], threadMatch: 9 }))).toMatchObject({
      ticketNumber: 7,
      via: 'subject',
    });
  });

  it('supplements through References when the subject lost the number', () => {
    expect(decideTarget(input({ threadMatch: 9, ...stranger }))).toEqual({
      action: 'supplement',
      ticketNumber: 9,
      flagged: false,
      via: 'references',
    });
    expect(decideTarget(input({ subjectNumbers: [404], threadMatch: 9 }))).toMatchObject({
      via: 'references',
    });
  });

  it.each(['bounce', 'ownMail'] as const)('skips %s whatever the subject says', (classification) => {
    const decision = decideTarget(
      input({
        classification,
        subjectNumbers: [7],
        threadMatch: 7,
        settings: { unrelatedSender: 'accept', autoReplies: 'supplement' },
      }),
    );
    expect(decision.action).toBe('skip');
    expect(decision).toHaveProperty('reason', expect.any(String));
  });

  describe('auto-replies', () => {
    const supplementing = { unrelatedSender: 'acceptAndFlag', autoReplies: 'supplement' } as const;
    const autoReply: MailKind = 'autoReply';

    it('are skipped when the helpdesk says so', () => {
      expect(decideTarget(input({ classification: autoReply, subjectNumbers: [7] }))).toEqual({
        action: 'skip',
        reason: expect.stringContaining('skips auto-replies'),
      });
    });

    it('supplement a known ticket when wanted, by subject or thread', () => {
      expect(
        decideTarget(input({ classification: autoReply, subjectNumbers: [7], settings: supplementing })),
      ).toMatchObject({ action: 'supplement', ticketNumber: 7, via: 'subject' });
      expect(
        decideTarget(input({ classification: autoReply, threadMatch: 9, settings: supplementing })),
      ).toMatchObject({
        action: 'supplement',
        ticketNumber: 9,
        via: 'references',
      });
    });

    it('never create a ticket', () => {
      expect(decideTarget(input({ classification: autoReply, settings: supplementing }))).toMatchObject({
        action: 'skip',
      });
      expect(
        decideTarget(
          input({
            classification: autoReply,
            subjectNumbers: [7],
            ...stranger,
            settings: { unrelatedSender: 'newTicket', autoReplies: 'supplement' },
          }),
        ),
      ).toMatchObject({ action: 'skip', reason: expect.stringContaining('unrelated') });
    });

    it('from an unrelated sender are flagged like any other mail', () => {
      expect(
        decideTarget(
          input({ classification: autoReply, subjectNumbers: [7], ...stranger, settings: supplementing }),
        ),
      ).toMatchObject({ action: 'supplement', flagged: true });
    });
  });

  it('handles bulk mail like normal mail', () => {
    expect(decideTarget(input({ classification: 'bulk' }))).toEqual({ action: 'createTicket' });
    expect(decideTarget(input({ classification: 'bulk', subjectNumbers: [7] }))).toMatchObject({
      action: 'supplement',
    });
  });
});

describe('needsThreadMatch', () => {
  const kinds: MailKind[] = ['normal', 'bulk', 'autoReply', 'bounce', 'ownMail'];
  const senders = [{}, stranger, { sender: 'new.person@customer.example' }];
  const subjects = [[], [7], [404], [9, 7]];
  const unrelatedSenders = ['internalAndFlag', 'accept', 'acceptAndFlag', 'newTicket'] as const;
  const cases = kinds.flatMap((classification) =>
    senders.flatMap((sender) =>
      subjects.flatMap((subjectNumbers) =>
        unrelatedSenders.flatMap((unrelatedSender) =>
          (['supplement', 'skip'] as const).map((autoReplies) =>
            input({ classification, ...sender, subjectNumbers, settings: { unrelatedSender, autoReplies } }),
          ),
        ),
      ),
    ),
  );

  it('says no only where the decision is the same whatever the thread matches', () => {
    let saved = 0;
    for (const { threadMatch: _, ...facts } of cases) {
      if (needsThreadMatch(facts)) continue;
      saved++;
      const without = decideTarget({ ...facts, threadMatch: null });
      for (const threadMatch of [7, 9, 12]) expect(decideTarget({ ...facts, threadMatch })).toEqual(without);
    }
    expect(saved).toBeGreaterThan(0);
  });

  it('asks for the thread when the sender is unrelated to the subject ticket, or there is none', () => {
    expect(needsThreadMatch(input({ subjectNumbers: [7] }))).toBe(false);
    expect(needsThreadMatch(input({ subjectNumbers: [7], ...stranger }))).toBe(true);
    expect(needsThreadMatch(input({ subjectNumbers: [404] }))).toBe(true);
    expect(needsThreadMatch(input({ classification: 'bounce' }))).toBe(false);
  });
});
