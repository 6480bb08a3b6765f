import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { importMailboxHandler } from '../../functions/importMailbox.js';
import type { Helpdesk } from '../../shared/helpdesk/settings.js';
import { type MailRecord, mailboxKey, messageKey } from '../../shared/import/mailRecord.js';
import { fallbackMessageIdDomain, isOwnMessageId } from '../../shared/mail/classify.js';
import { findTicketNumbers } from '../../shared/tickets/ticketNumber.js';
import { invocation, runTimerAndDrainQueue } from '../support/functionRuns.js';
import { testHelpdesk } from '../support/helpdeskFixtures.js';
import {
  header,
  type ImportScenario,
  type SentMail,
  seedHelpdesk,
  sentMail,
  startImportScenario,
} from '../support/importScenario.js';
import { rawMail, type TestMail } from '../support/mail.js';

/**
 * Acknowledgement mail end to end (R15, R16): what is sent, from where, with which headers, to whom
 * never, how often at most, and that a job run again after a crash does not send it twice.
 */

const DESK = 'desk@ack.test';
const SALES = 'sales@ack.test';
const SEPARATOR = '==== vul boven deze regel uw reactie ====';
const KARIN = 'Karin Klant <karin@customer.example>';

const acknowledging = {
  newTicket: { enabled: true },
  supplement: { enabled: true },
  maxPerSenderPerHour: 100,
  maxPerSenderPerDay: 1000,
};

/** Two mailboxes, its own ticket number pattern, auto-replies recorded as supplements. */
const helpdesk: Helpdesk = testHelpdesk(
  'ack',
  DESK,
  {
    mailboxes: [
      { id: 'main', userId: DESK },
      { id: 'sales', userId: SALES },
    ],
    autoReplies: 'supplement',
    acknowledgement: acknowledging,
  },
  { ticketPrefix: 'HD' },
);

let scenario: ImportScenario;
let sequence = 0;

beforeAll(async () => {
  // A run resuming an acknowledgement waits this long for Sent Items (the crash test below).
  scenario = await startImportScenario({ SENT_ITEMS_DELAY_SECONDS: '2' });
  await seedHelpdesk(scenario, helpdesk);
});

afterAll(async () => {
  vi.useRealTimers();
  await scenario?.local.close();
});

/** A second apart, so each mailbox is read in delivery order. */
function nextReceived(): string {
  sequence += 1;
  return new Date(Date.now() + sequence * 1000).toISOString();
}

async function deliverTo(mailbox: string, mail: Omit<TestMail, 'to'>): Promise<void> {
  scenario.local.graph.deliver(mailbox, await rawMail({ ...mail, to: mailbox }), {
    receivedDateTime: nextReceived(),
  });
}

async function record(of: Helpdesk, messageId: string, mailboxId = 'main'): Promise<MailRecord> {
  const found = await scenario.deps.records.get(mailboxKey(of.id, mailboxId), messageKey(messageId));
  if (!found) throw new Error(`no record of ${messageId}`);
  return found.record;
}

async function answersTo(mailbox: string, messageId: string): Promise<SentMail[]> {
  return (await sentMail(scenario, mailbox)).filter((sent) => sent.mail.inReplyTo.includes(messageId));
}

function createdTicket(stored: MailRecord): number {
  if (stored.plan?.action !== 'createTicket') throw new Error(`${stored.subject} made no ticket`);
  return stored.plan.ticketNumber;
}

describe('the acknowledgement of a new ticket', () => {
  let ticket: number;
  let ack: SentMail;

  beforeAll(async () => {
    await deliverTo(DESK, {
      from: KARIN,
      subject: 'Printer broken',
      text: 'The printer on floor 2 does not print.\n',
      messageId: '<ack-new@customer.example>',
      references: ['<earlier@customer.example>'],
    });
    await runTimerAndDrainQueue(scenario.env);
    ticket = createdTicket(await record(helpdesk, '<ack-new@customer.example>'));
    const answers = await answersTo(DESK, '<ack-new@customer.example>');
    expect(answers).toHaveLength(1);
    ack = answers[0] as SentMail;
  });

  it('goes to the sender, with the ticket number in the helpdesk pattern and the separator on top', () => {
    expect(ack.to).toEqual(['karin@customer.example']);
    expect(ack.mail.subject).toContain(`[HD-${ticket}]`);
    expect(findTicketNumbers(ack.mail.subject, { ticketPrefix: 'HD', extraPatterns: [] })[0]).toBe(ticket);
    expect(ack.mail.text.startsWith(SEPARATOR)).toBe(true);
    expect(ack.mail.text).toContain(`ticket ${ticket}`);
  });

  it('is threaded and marked as an automatic reply', () => {
    expect(ack.mail.inReplyTo).toEqual(['<ack-new@customer.example>']);
    expect(ack.mail.references).toEqual(['<earlier@customer.example>', '<ack-new@customer.example>']);
    expect(header(ack.mail, 'Auto-Submitted')).toBe('auto-replied');
    expect(header(ack.mail, 'X-Auto-Response-Suppress')).toBe('All');
  });

  it('carries a Message-ID we recognise as ours and remember for the ticket', async () => {
    const id = ack.mail.messageId ?? '';
    expect(isOwnMessageId(id, 'ack.test')).toBe(true);
    expect(await scenario.deps.tickets.ticketForMessageIds(helpdesk.id, [id])).toBe(ticket);
    expect(await record(helpdesk, '<ack-new@customer.example>')).toMatchObject({
      acknowledgement: { messageId: id, state: 'sent' },
    });
    const everything = await scenario.deps.tickets.ticketWithEverything(helpdesk.id, ticket);
    expect(everything?.history.map((entry) => entry.event)).toEqual([
      'createdByMailImport',
      'acknowledgementSent',
    ]);
  });

  it("round trip: the customer's unedited reply to it is a supplement of the ticket, acknowledged in turn", async () => {
    await deliverTo(DESK, {
      from: KARIN,
      subject: `RE: ${ack.mail.subject}`,
      text: `It now prints blank pages.\n\n${ack.mail.text.replace(/^/gm, '> ')}\n`,
      messageId: '<ack-reply@customer.example>',
      inReplyTo: ack.mail.messageId ?? '',
      references: [...ack.mail.references, ack.mail.messageId ?? ''],
    });
    await runTimerAndDrainQueue(scenario.env);
    expect((await record(helpdesk, '<ack-reply@customer.example>')).plan).toMatchObject({
      action: 'supplement',
      ticketNumber: ticket,
      flagged: null,
    });
    const everything = await scenario.deps.tickets.ticketWithEverything(helpdesk.id, ticket);
    expect(everything?.supplements.map((s) => s.description.trim())).toEqual(['It now prints blank pages.']);
    const second = await answersTo(DESK, '<ack-reply@customer.example>');
    expect(second).toHaveLength(1);
    expect(second[0]?.mail.subject).toContain(`[HD-${ticket}]`);
    expect(second[0]?.mail.references).toContain(ack.mail.messageId);
  });
});

describe('the mailbox it is sent from', () => {
  const messageId = '<ack-sales@customer.example>';

  beforeAll(async () => {
    await deliverTo(SALES, {
      from: 'Cees Collega <cees@customer.example>',
      subject: 'Quote for 20 laptops',
      text: 'Please send a quote.\n',
      messageId,
    });
    await runTimerAndDrainQueue(scenario.env);
  });

  it('is the mailbox the mail came in on', async () => {
    expect(await answersTo(SALES, messageId)).toHaveLength(1);
    expect(await answersTo(DESK, messageId)).toHaveLength(0);
  });

  // Graph refuses a From of another mailbox (ErrorSendAsDenied) unless the app may send as that address.
  it('names that mailbox as the sender', async () => {
    const [ack] = await answersTo(SALES, messageId);
    expect(ack?.mail.from?.address).toBe(SALES);
  });
});

describe('mail that is never acknowledged', () => {
  let ticket: number;

  beforeAll(async () => {
    await deliverTo(DESK, {
      from: KARIN,
      subject: 'Monitor flickers',
      text: 'It flickers.\n',
      messageId: '<never-base@customer.example>',
    });
    await runTimerAndDrainQueue(scenario.env);
    ticket = createdTicket(await record(helpdesk, '<never-base@customer.example>'));
  });

  const cases: Array<{ name: string; to?: string; mail: () => Omit<TestMail, 'to'>; made: string }> = [
    {
      name: 'a no-reply sender',
      mail: () => ({
        from: 'Webshop <noreply@shop.example>',
        subject: 'Your order 8812 has shipped',
        text: 'Track your parcel.\n',
        messageId: '<never-noreply@shop.example>',
      }),
      made: 'createTicket',
    },
    {
      name: 'a mailer-daemon',
      mail: () => ({
        from: 'Mail Delivery System <MAILER-DAEMON@mx.customer.example>',
        subject: 'Mail delivery failed: returning message to sender',
        text: 'This message was created automatically by mail delivery software.\n',
        messageId: '<never-daemon@mx.customer.example>',
      }),
      made: 'skip',
    },
    {
      name: 'one of our own mailboxes',
      to: DESK,
      mail: () => ({
        from: `Sales <${SALES}>`,
        subject: 'Internal: please check the quote',
        text: 'See the quote.\n',
        messageId: '<never-own@ack.test>',
      }),
      made: 'skip',
    },
    {
      name: 'an out-of-office reply to a known ticket (recorded as a supplement)',
      mail: () => ({
        from: KARIN,
        subject: `Automatic reply: [HD-${ticket}] Monitor flickers`,
        text: 'I am out of the office.\n',
        messageId: '<never-oof@customer.example>',
        headers: { 'Auto-Submitted': 'auto-replied' },
      }),
      made: 'supplement',
    },
    {
      name: 'a read receipt',
      mail: () => ({
        from: KARIN,
        subject: `Read: [HD-${ticket}] Monitor flickers`,
        text: 'Your message was read.\n',
        messageId: '<never-read@customer.example>',
        headers: { 'Return-Path': '<>' },
      }),
      made: 'supplement',
    },
    {
      name: 'a bounce',
      mail: () => ({
        from: 'Postmaster <postmaster@customer.example>',
        subject: `Undeliverable: [HD-${ticket}] Monitor flickers`,
        text: 'Delivery has failed to these recipients.\n',
        messageId: '<never-bounce@customer.example>',
        headers: { 'X-MS-Exchange-Message-Is-Ndr': '' },
      }),
      made: 'skip',
    },
    {
      name: 'list mail',
      mail: () => ({
        from: 'Peter Poster <peter@members.example>',
        subject: '[vendor-users] Firmware 4.2 breaks printing',
        text: 'Anyone else?\n',
        messageId: '<never-list@members.example>',
        headers: {
          'List-Id': 'Vendor users <users.lists.vendor.example>',
          'List-Unsubscribe': '<mailto:users-leave@lists.vendor.example>',
          Precedence: 'list',
        },
      }),
      made: 'createTicket',
    },
    {
      name: 'backscatter: a forged From that failed DMARC at the receiving server',
      mail: () => ({
        from: 'CEO <ceo@victim.example>',
        subject: 'Buy cheap pills at spam.example',
        text: 'Spam.\n',
        messageId: '<never-forged@attacker.example>',
        authenticationResults: [
          'spf=fail (sender IP is 198.51.100.7) smtp.mailfrom=victim.example; dkim=none (message not signed) header.d=none;dmarc=fail action=none header.from=victim.example;compauth=fail reason=000',
        ],
      }),
      made: 'createTicket',
    },
    {
      name: 'backscatter: a forged passing Authentication-Results below the receiving server’s own',
      mail: () => ({
        from: 'CEO <ceo@victim.example>',
        subject: 'Buy more cheap pills',
        text: 'Spam.\n',
        messageId: '<never-forged-header@attacker.example>',
        authenticationResults: [
          'spf=pass (sender IP is 203.0.113.9) smtp.mailfrom=attacker.example; dkim=none (message not signed) header.d=none;dmarc=none action=none header.from=victim.example;compauth=none reason=405',
          'spf=pass smtp.mailfrom=victim.example; dkim=pass header.d=victim.example;dmarc=pass action=none header.from=victim.example',
        ],
      }),
      made: 'createTicket',
    },
    {
      name: 'backscatter: mail no server authenticated (no Authentication-Results)',
      mail: () => ({
        from: 'Someone <someone@victim.example>',
        subject: 'Unauthenticated request',
        text: 'Hello.\n',
        messageId: '<never-unauthenticated@victim.example>',
        authenticationResults: [],
      }),
      made: 'createTicket',
    },
  ];

  it.each(cases)('$name', async ({ mail, to, made }) => {
    const message = mail();
    await deliverTo(to ?? DESK, message);
    await runTimerAndDrainQueue(scenario.env);
    const stored = await record(helpdesk, message.messageId ?? '');
    expect(stored.plan?.action).toBe(made);
    expect(stored.acknowledgement).toBeNull();
    expect(await answersTo(DESK, message.messageId ?? '')).toHaveLength(0);
    const sender = message.from.replace(/^.*<|>$/g, '').toLowerCase();
    for (const mailbox of [DESK, SALES]) {
      const sent = await sentMail(scenario, mailbox);
      expect(
        sent.filter((s) => s.to.includes(sender) && s.mail.inReplyTo.includes(message.messageId ?? '')),
      ).toHaveLength(0);
    }
  });
});

describe('a job run again', () => {
  const redeliver: Helpdesk = testHelpdesk(
    'redeliver',
    'desk@redeliver.test',
    { acknowledgement: acknowledging },
    { ticketPrefix: 'RD' },
  );
  const sinceLastScan: Helpdesk = testHelpdesk('rescan', 'desk@rescan.test', {
    mailboxes: [{ id: 'main', userId: 'desk@rescan.test', scan: 'sinceLastScan' }],
    acknowledgement: acknowledging,
  });

  beforeAll(async () => {
    await seedHelpdesk(scenario, redeliver);
    await seedHelpdesk(scenario, sinceLastScan);
  });

  it('sees the same mail again and does not acknowledge it a second time', async () => {
    await deliverTo('desk@rescan.test', {
      from: KARIN,
      subject: 'Mouse broken',
      text: 'Left button.\n',
      messageId: '<rescan-1@customer.example>',
    });
    const job = {
      helpdeskId: 'rescan',
      mailboxId: 'main',
      reason: 'timer',
      enqueuedAt: new Date().toISOString(),
    };
    await importMailboxHandler(job, invocation('importMailbox'));
    await importMailboxHandler(job, invocation('importMailbox'));
    expect(await answersTo('desk@rescan.test', '<rescan-1@customer.example>')).toHaveLength(1);
    const status = await scenario.deps.helpdesks.mailboxStatus('rescan', 'main');
    expect(status.lastCounts).toMatchObject({ created: 0, alreadyImported: 1 });
  });

  it('after a crash right after sending, finds the sent mail once Sent Items can show it, and does not send it again', async () => {
    // Graph saves the sent copy 1.5 s after its 202; a run resuming the acknowledgement waits 2 s.
    scenario.local.graph.setSentItemsDelay(1_500);
    await deliverTo('desk@redeliver.test', {
      from: KARIN,
      subject: 'Headset crackles',
      text: 'Crackles.\n',
      messageId: '<crash-1@customer.example>',
    });
    const job = {
      helpdeskId: 'redeliver',
      mailboxId: 'main',
      reason: 'retry',
      enqueuedAt: new Date().toISOString(),
    };
    const { tickets } = scenario.deps;
    const putHistory = tickets.putHistory.bind(tickets);
    let crashed = false;
    // The adapter instance is the one the function's services use: the first run dies right after sending.
    const crash = vi.spyOn(tickets, 'putHistory').mockImplementation(async (entry) => {
      if (entry.event === 'acknowledgementSent' && !crashed) {
        crashed = true;
        throw new Error('process killed after the acknowledgement went out');
      }
      await putHistory(entry);
    });
    try {
      await importMailboxHandler(job, invocation('importMailbox'));
    } finally {
      crash.mockRestore();
    }
    expect(crashed).toBe(true);
    // The ticket is stored: the mail counts as imported, and stays unread for the run that resumes it.
    expect((await scenario.deps.helpdesks.mailboxStatus('redeliver', 'main')).lastCounts).toMatchObject({
      created: 1,
      failed: 0,
    });
    expect(
      scenario.local.graph
        .messages('desk@redeliver.test', 'inbox')
        .find((m) => m.subject === 'Headset crackles'),
    ).toMatchObject({ isRead: false });
    expect(await record(redeliver, '<crash-1@customer.example>')).toMatchObject({
      state: 'stored',
      acknowledgement: { state: 'sending' },
    });
    // Run again at once: Sent Items cannot show the mail yet, so the run leaves it for a later one.
    await importMailboxHandler(job, invocation('importMailbox'));
    expect(await record(redeliver, '<crash-1@customer.example>')).toMatchObject({
      acknowledgement: { state: 'sending' },
    });
    await sleep(2_000);
    scenario.local.graph.setSentItemsDelay(0);
    expect(await answersTo('desk@redeliver.test', '<crash-1@customer.example>')).toHaveLength(1);

    await importMailboxHandler(job, invocation('importMailbox'));
    expect((await scenario.deps.helpdesks.mailboxStatus('redeliver', 'main')).lastCounts).toMatchObject({
      created: 0,
      alreadyImported: 1,
      failed: 0,
    });
    expect(await answersTo('desk@redeliver.test', '<crash-1@customer.example>')).toHaveLength(1);
    const stored = await record(redeliver, '<crash-1@customer.example>');
    expect(stored.acknowledgement?.state).toBe('sent');
    const everything = await scenario.deps.tickets.ticketWithEverything('redeliver', createdTicket(stored));
    expect(everything?.history.filter((entry) => entry.event === 'acknowledgementSent')).toHaveLength(1);
    expect(everything?.supplements).toHaveLength(0);
  });
});

describe('a mailbox given by its Graph user id (R1)', () => {
  const objectId = '6f1c2b7e-93a4-4c55-8d1e-2f0a9b8c7d61';
  const address = 'support@guid.test';
  const byId: Helpdesk = testHelpdesk('by-id', objectId, { acknowledgement: acknowledging });
  const job = {
    helpdeskId: 'by-id',
    mailboxId: 'main',
    reason: 'timer',
    enqueuedAt: new Date().toISOString(),
  };

  beforeAll(async () => {
    scenario.local.graph.addMailbox(objectId, { address });
    await seedHelpdesk(scenario, byId);
  });

  it('defect: a mailbox given by Graph user id acknowledges from its primary address, read from Graph once and kept on its status', async () => {
    const lookups = () => scenario.local.graph.counters()['GET /users/{id}'] ?? 0;
    const before = lookups();
    await deliverTo(objectId, {
      from: KARIN,
      subject: 'Badge reader',
      text: 'Broken.\n',
      messageId: '<by-id-1@customer.example>',
    });
    await importMailboxHandler(job, invocation('importMailbox'));
    const [ack] = await answersTo(objectId, '<by-id-1@customer.example>');
    expect(ack?.mail.from?.address).toBe(address);
    expect(isOwnMessageId(ack?.mail.messageId ?? '', 'guid.test')).toBe(true);
    expect((await record(byId, '<by-id-1@customer.example>')).acknowledgement?.state).toBe('sent');
    expect((await scenario.deps.helpdesks.mailboxStatus('by-id', 'main')).resolvedAddress).toEqual({
      userId: objectId,
      address,
    });

    await deliverTo(objectId, {
      from: KARIN,
      subject: 'Second badge reader',
      text: 'Also broken.\n',
      messageId: '<by-id-2@customer.example>',
    });
    await importMailboxHandler(job, invocation('importMailbox'));
    expect(await answersTo(objectId, '<by-id-2@customer.example>')).toHaveLength(1);
    expect(lookups() - before).toBe(1);
  });

  it('defect: a mailbox given by Graph user id recognises mail from its own address (no ticket, no acknowledgement)', async () => {
    await deliverTo(objectId, {
      from: `Support <${address}>`,
      subject: 'Sent to ourselves',
      text: 'Loop?\n',
      messageId: '<by-id-own@guid.test>',
    });
    await importMailboxHandler(job, invocation('importMailbox'));
    const own = await record(byId, '<by-id-own@guid.test>');
    expect(own).toMatchObject({
      state: 'skipped',
      classification: { kind: 'ownMail' },
      acknowledgement: null,
    });
    expect(await answersTo(objectId, '<by-id-own@guid.test>')).toHaveLength(0);
  });
});

describe('a helpdesk id that is no host name', () => {
  const objectId = '0b7d5e42-1c3f-4a8e-9f60-7d2c4e1a3b95';
  const underscored: Helpdesk = testHelpdesk('help_desk', objectId, { acknowledgement: acknowledging });

  beforeAll(async () => {
    scenario.local.graph.addMailbox(objectId, { address: 'help@underscore.test' });
    await seedHelpdesk(scenario, underscored);
  });

  it('defect: a helpdesk id with "_" still gives a valid own Message-ID and the stored ticket counts as imported', async () => {
    // Without User.Read.All the mailbox's address stays unknown: the Message-ID domain comes from the id.
    scenario.local.graph.injectFault({ route: 'GET /users/{id}', status: 403, count: 1 });
    await deliverTo(objectId, {
      from: KARIN,
      subject: 'Scanner jams',
      text: 'Jams.\n',
      messageId: '<underscore-1@customer.example>',
    });
    await importMailboxHandler(
      { helpdeskId: 'help_desk', mailboxId: 'main', reason: 'timer', enqueuedAt: new Date().toISOString() },
      invocation('importMailbox'),
    );
    const status = await scenario.deps.helpdesks.mailboxStatus('help_desk', 'main');
    expect(status.lastCounts).toMatchObject({ created: 1, failed: 0, keptAside: 0 });
    const stored = await record(underscored, '<underscore-1@customer.example>');
    expect(stored.state).toBe('stored');
    const messageId = stored.acknowledgement?.messageId ?? '';
    expect(isOwnMessageId(messageId, fallbackMessageIdDomain('help_desk'))).toBe(true);
    // Never sent without a known From, and said so on the record; the source mail is done with.
    expect(stored.acknowledgement?.state).toBe('failed');
    expect(
      scenario.local.graph.messages(objectId, 'inbox').find((m) => m.subject === 'Scanner jams'),
    ).toMatchObject({ isRead: true });
  });
});

describe('the per-sender limits', () => {
  const limited: Helpdesk = testHelpdesk('limited', 'desk@limited.test', {
    acknowledgement: {
      newTicket: { enabled: true },
      supplement: { enabled: true },
      maxPerSenderPerHour: 2,
      maxPerSenderPerDay: 3,
    },
  });
  const start = Date.now();
  let n = 0;

  async function newRequests(from: string, count: number): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      n += 1;
      const messageId = `<limit-${n}@customer.example>`;
      ids.push(messageId);
      await deliverTo('desk@limited.test', { from, subject: `Request ${n}`, text: 'Help.\n', messageId });
    }
    await runTimerAndDrainQueue(scenario.env);
    return ids;
  }

  async function acknowledged(ids: string[]): Promise<number> {
    let count = 0;
    for (const id of ids) count += (await answersTo('desk@limited.test', id)).length;
    return count;
  }

  beforeAll(async () => {
    await seedHelpdesk(scenario, limited);
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(start);
  });

  afterAll(() => {
    vi.useRealTimers();
  });

  it('stop acknowledging a sender at the hourly limit, not anyone else', async () => {
    const bob = await newRequests('bob@customer.example', 3);
    expect(await acknowledged(bob)).toBe(2);
    const carol = await newRequests('carol@customer.example', 1);
    expect(await acknowledged(carol)).toBe(1);
    const records = await Promise.all(bob.map((id) => record(limited, id)));
    expect(records.map((r) => r.plan?.action)).toEqual(['createTicket', 'createTicket', 'createTicket']);
    expect(records.map((r) => r.acknowledgement?.state ?? null)).toEqual(['sent', 'sent', null]);
  });

  it('backscatter: count plus-tagged and differently cased addresses as one sender', async () => {
    const tagged = [
      ...(await newRequests('dave+1@customer.example', 1)),
      ...(await newRequests('Dave+2@Customer.Example', 1)),
      ...(await newRequests('DAVE@customer.example', 1)),
    ];
    expect(await acknowledged(tagged)).toBe(2);
  });

  it('stop at the daily limit in the next hours, and start again a day later', async () => {
    vi.setSystemTime(start + 61 * 60_000);
    expect(await acknowledged(await newRequests('bob@customer.example', 2))).toBe(1);
    vi.setSystemTime(start + 5 * 3_600_000);
    expect(await acknowledged(await newRequests('bob@customer.example', 1))).toBe(0);
    vi.setSystemTime(start + 25 * 3_600_000);
    expect(await acknowledged(await newRequests('bob@customer.example', 1))).toBe(1);
  });
});

describe('the per-helpdesk hourly cap', () => {
  const capped: Helpdesk = testHelpdesk('capped', 'desk@capped.test', {
    acknowledgement: { newTicket: { enabled: true }, maxPerHelpdeskPerHour: 3 },
  });

  beforeAll(async () => {
    await seedHelpdesk(scenario, capped);
  });

  it('backscatter: a flood from many distinct senders gets at most the cap of acknowledgements', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      const messageId = `<flood-${i}@sender${i}.example>`;
      ids.push(messageId);
      await deliverTo('desk@capped.test', {
        from: `flood${i}@sender${i}.example`,
        subject: `Flood ${i}`,
        text: 'Hi.\n',
        messageId,
      });
    }
    await runTimerAndDrainQueue(scenario.env);
    const records = await Promise.all(ids.map((id) => record(capped, id)));
    expect(records.every((r) => r.plan?.action === 'createTicket')).toBe(true);
    expect(await sentMail(scenario, 'desk@capped.test')).toHaveLength(3);
  });
});

describe('what an acknowledgement repeats of the mail', () => {
  it('backscatter: at most a short title and name, however long the sender made the subject and display name', async () => {
    const spam = 'Cheap pills at spam.example, order now '.repeat(8);
    await deliverTo(DESK, {
      from: `"${spam}" <long@customer.example>`,
      subject: spam,
      text: 'Spam.\n',
      messageId: '<echo-long@customer.example>',
    });
    await runTimerAndDrainQueue(scenario.env);
    const [answer] = await answersTo(DESK, '<echo-long@customer.example>');
    const title = answer?.mail.subject.replace(/^(\[[^\]]*\]\s*)+/, '') ?? '';
    expect(Array.from(title)).toHaveLength(80);
    expect(title.endsWith('…')).toBe(true);
    expect(Array.from(answer?.mail.to[0]?.name ?? '').length).toBeLessThanOrEqual(60);
    expect(answer?.mail.text).not.toContain(spam.trim());
  });
});
