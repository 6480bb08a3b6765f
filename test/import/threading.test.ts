import { HttpRequest } from '@azure/functions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keptAsideMessagesHandler } from '../../functions/keptAsideMessages.js';
import type { Helpdesk } from '../../shared/helpdesk/settings.js';
import { listMessages } from '../../shared/import/keptAside.js';
import { type MailRecord, mailboxKey, messageKey } from '../../shared/import/mailRecord.js';
import { isOwnMessageId } from '../../shared/mail/classify.js';
import type { Contact } from '../../shared/tickets/model.js';
import { invocation, runTimerAndDrainQueue } from '../support/functionRuns.js';
import { testHelpdesk } from '../support/helpdeskFixtures.js';
import {
  type ImportScenario,
  seedHelpdesk,
  sentMail,
  startImportScenario,
} from '../support/importScenario.js';
import { rawMail, type TestMail } from '../support/mail.js';

/**
 * Where mail goes, end to end (R15, R17, R18): threading by In-Reply-To/References when the subject lost
 * the ticket number, each setting for a sender unrelated to the ticket, auto-replies per setting, and
 * bounces and our own mail, which never make tickets. Every decision is checked on the message's record
 * in the `mail` container (classification and plan) and on what was written to the tickets.
 */

type Setting = 'internalAndFlag' | 'accept' | 'acceptAndFlag' | 'newTicket';

/** One helpdesk per R18 setting; auto-replies supplement in two of them and are skipped in the third. */
const helpdesks: Record<Setting, Helpdesk> = {
  internalAndFlag: desk('internal', { unrelatedSender: 'internalAndFlag', autoReplies: 'skip' }),
  accept: desk('accept', { unrelatedSender: 'accept', autoReplies: 'supplement' }),
  acceptAndFlag: desk('flag', { unrelatedSender: 'acceptAndFlag', autoReplies: 'skip' }),
  newTicket: desk('newticket', { unrelatedSender: 'newTicket', autoReplies: 'supplement' }),
};

/** Acknowledgements of new tickets on (their Message-IDs are threaded on), limits out of the way. */
function desk(id: string, importer: Record<string, unknown>): Helpdesk {
  return testHelpdesk(id, `desk@${id}.test`, {
    acknowledgement: { newTicket: { enabled: true }, maxPerSenderPerHour: 100, maxPerSenderPerDay: 1000 },
    ...importer,
  });
}

/** A known contact of another organisation: known, but nothing to do with the customer's tickets. */
function otherOrganisationContact(helpdeskId: string): Contact {
  return {
    id: 'other-org-contact',
    helpdeskId,
    name: 'Olaf Other',
    emailLower: 'olaf@other.example',
    organisation: { id: 'org-other', name: 'Other Ltd' },
  };
}

const KARIN = 'Karin Klant <karin@customer.example>';

let scenario: ImportScenario;
let sequence = 0;

beforeAll(async () => {
  scenario = await startImportScenario();
  for (const helpdesk of Object.values(helpdesks)) {
    await seedHelpdesk(scenario, helpdesk, [otherOrganisationContact(helpdesk.id)]);
  }
});

afterAll(async () => {
  await scenario?.local.close();
});

function address(helpdesk: Helpdesk): string {
  return helpdesk.importer.mailboxes[0]?.userId ?? '';
}

/** Received one minute after the previous mail of this file, so the mailbox is read in delivery order. */
function nextReceived(): string {
  sequence += 1;
  return new Date(Date.parse('2026-11-23T08:00:00Z') + sequence * 60_000).toISOString();
}

async function deliverRaw(helpdesk: Helpdesk, raw: Buffer | string): Promise<void> {
  scenario.local.graph.deliver(address(helpdesk), raw, { receivedDateTime: nextReceived() });
}

async function deliver(helpdesk: Helpdesk, mail: Omit<TestMail, 'to'>): Promise<void> {
  await deliverRaw(helpdesk, await rawMail({ ...mail, to: address(helpdesk) }));
}

async function record(helpdesk: Helpdesk, internetMessageId: string): Promise<MailRecord> {
  const found = await scenario.deps.records.get(
    mailboxKey(helpdesk.id, 'main'),
    messageKey(internetMessageId),
  );
  if (!found) throw new Error(`no record of ${internetMessageId} in ${helpdesk.id}`);
  return found.record;
}

/** Imports one mail from the customer and returns the number of the ticket it made. */
async function ticketFrom(helpdesk: Helpdesk, messageId: string, subject: string): Promise<number> {
  await deliver(helpdesk, { from: KARIN, subject, text: 'It is slow.\n', messageId });
  await runTimerAndDrainQueue(scenario.env);
  const plan = (await record(helpdesk, messageId)).plan;
  if (plan?.action !== 'createTicket') throw new Error(`${messageId} did not make a ticket`);
  return plan.ticketNumber;
}

async function acknowledgementOf(helpdesk: Helpdesk, messageId: string) {
  const sent = await sentMail(scenario, address(helpdesk));
  const ack = sent.find((s) => s.mail.inReplyTo.includes(messageId));
  if (!ack?.mail.messageId) throw new Error(`no acknowledgement of ${messageId}`);
  return ack.mail;
}

async function supplementOf(helpdesk: Helpdesk, ticketNumber: number, messageId: string) {
  const everything = await scenario.deps.tickets.ticketWithEverything(helpdesk.id, ticketNumber);
  const key = messageKey(messageId);
  return {
    supplement: everything?.supplements.find((s) => s.source.messageKey === key),
    history: everything?.history.find((h) => h.messageKey === key),
  };
}

describe('threading by In-Reply-To and References when the subject lost the number (R17)', () => {
  const helpdesk = helpdesks.accept;
  let ticket: number;
  let ackId: string;

  beforeAll(async () => {
    ticket = await ticketFrom(helpdesk, '<thread-orig@customer.example>', 'Printer broken');
    ackId = (await acknowledgementOf(helpdesk, '<thread-orig@customer.example>')).messageId ?? '';
  });

  it('adds a reply to the original mail with an edited subject to its ticket', async () => {
    await deliver(helpdesk, {
      from: KARIN,
      subject: 'printer STILL not working!!',
      text: 'Now it smells burnt.\n',
      messageId: '<thread-edited@customer.example>',
      inReplyTo: '<thread-orig@customer.example>',
      references: ['<thread-orig@customer.example>'],
    });
    await runTimerAndDrainQueue(scenario.env);
    expect((await record(helpdesk, '<thread-edited@customer.example>')).plan).toEqual({
      action: 'supplement',
      ticketNumber: ticket,
      via: 'references',
      flagged: null,
      automatic: null,
    });
    const { supplement } = await supplementOf(helpdesk, ticket, '<thread-edited@customer.example>');
    expect(supplement?.description).toContain('smells burnt');
  });

  it('adds a reply to our acknowledgement (our Message-ID) with a new subject to the ticket', async () => {
    expect(isOwnMessageId(ackId, 'accept.test')).toBe(true);
    await deliver(helpdesk, {
      from: KARIN,
      subject: 'Thanks',
      text: 'Thanks, one more thing: it is the one on floor 2.\n',
      messageId: '<thread-to-ack@customer.example>',
      inReplyTo: ackId,
      references: [ackId],
    });
    await runTimerAndDrainQueue(scenario.env);
    expect((await record(helpdesk, '<thread-to-ack@customer.example>')).plan).toMatchObject({
      action: 'supplement',
      ticketNumber: ticket,
      via: 'references',
    });
  });

  it('finds the ticket through any id of a References chain, without In-Reply-To', async () => {
    await deliver(helpdesk, {
      from: 'Cees Collega <cees@customer.example>',
      subject: 'Fwd: that printer',
      text: 'Same here.\n',
      messageId: '<thread-refs@customer.example>',
      references: ['<thread-orig@customer.example>', ackId, '<unknown-1@elsewhere.example>'],
    });
    await runTimerAndDrainQueue(scenario.env);
    expect((await record(helpdesk, '<thread-refs@customer.example>')).plan).toMatchObject({
      action: 'supplement',
      ticketNumber: ticket,
    });
  });

  it.each([
    ['our id without brackets, upper-cased', () => `In-Reply-To: ${ackId.slice(1, -1).toUpperCase()}`],
    ['blanks inside the brackets', () => 'In-Reply-To: < thread-orig@customer.example >'],
    ['other case and a comment', () => "In-Reply-To: <THREAD-ORIG@Customer.Example> (Karin's message)"],
    [
      'a comma-separated References list',
      () => 'References: <x-1@elsewhere.example>,<thread-orig@customer.example>',
    ],
    ['a folded References list', () => `References: <x-2@elsewhere.example>\r\n\t${ackId}`],
  ])('matches Message-IDs written with %s', async (name, threadingHeader) => {
    const messageId = `<odd-${name.replace(/\W+/g, '-')}@customer.example>`;
    await deliverRaw(
      helpdesk,
      [
        `From: ${KARIN}`,
        `To: ${address(helpdesk)}`,
        'Subject: about my printer',
        'Date: Mon, 23 Nov 2026 09:00:00 +0000',
        `Message-ID: ${messageId}`,
        threadingHeader(),
        'Content-Type: text/plain; charset=utf-8',
        '',
        'Any news?',
        '',
      ].join('\r\n'),
    );
    await runTimerAndDrainQueue(scenario.env);
    expect((await record(helpdesk, messageId)).plan).toMatchObject({
      action: 'supplement',
      ticketNumber: ticket,
    });
  });

  it('threads on the Message-ID of the first mail whatever case it was written in', async () => {
    const number = await ticketFrom(helpdesk, '<Mixed.Case-7@Customer.EXAMPLE>', 'Scanner jammed');
    await deliver(helpdesk, {
      from: KARIN,
      subject: 'scanner',
      text: 'Still jammed.\n',
      messageId: '<thread-case-reply@customer.example>',
      inReplyTo: '<mixed.case-7@customer.example>',
    });
    await runTimerAndDrainQueue(scenario.env);
    expect((await record(helpdesk, '<thread-case-reply@customer.example>')).plan).toMatchObject({
      action: 'supplement',
      ticketNumber: number,
    });
  });

  it('makes a new ticket when nothing referenced is known', async () => {
    await deliver(helpdesk, {
      from: KARIN,
      subject: 'about my printer',
      text: 'Different printer.\n',
      messageId: '<thread-unknown@customer.example>',
      inReplyTo: '<never-seen@customer.example>',
    });
    await runTimerAndDrainQueue(scenario.env);
    expect((await record(helpdesk, '<thread-unknown@customer.example>')).plan).toMatchObject({
      action: 'createTicket',
    });
  });
});

describe('a ticket number in the subject from a sender unrelated to the ticket (R18)', () => {
  const senders = [
    { who: 'the original contact', from: KARIN, related: true },
    {
      who: 'a colleague of the same organisation',
      from: 'Cees Collega <cees@customer.example>',
      related: true,
    },
    {
      who: 'a known contact of another organisation',
      from: 'Olaf Other <olaf@other.example>',
      related: false,
    },
    { who: 'an unknown sender', from: 'Sam Stranger <sam@stranger.example>', related: false },
  ];
  const expected: Record<Setting, 'supplement' | 'flagged' | 'internal' | 'newTicket'> = {
    internalAndFlag: 'internal',
    accept: 'supplement',
    acceptAndFlag: 'flagged',
    newTicket: 'newTicket',
  };
  const tickets = new Map<Setting, number>();

  beforeAll(async () => {
    for (const [setting, helpdesk] of Object.entries(helpdesks) as Array<[Setting, Helpdesk]>) {
      const number = await ticketFrom(helpdesk, `<r18-orig-${helpdesk.id}@customer.example>`, 'Laptop slow');
      tickets.set(setting, number);
      // In this order, so no earlier unrelated sender has become a participant of the ticket.
      for (const [index, sender] of senders.entries()) {
        await deliver(helpdesk, {
          from: sender.from,
          subject: `RE: [#${number}] Laptop slow`,
          text: `Reply ${index}.\n`,
          messageId: `<r18-${index}-${helpdesk.id}@customer.example>`,
        });
      }
    }
    await runTimerAndDrainQueue(scenario.env);
  });

  const cases = (Object.keys(expected) as Setting[]).flatMap((setting) =>
    senders.map((sender, index) => ({ setting, index, ...sender })),
  );

  it.each(cases)('$setting: $who', async ({ setting, index, related }) => {
    const helpdesk = helpdesks[setting];
    const number = tickets.get(setting) ?? 0;
    const messageId = `<r18-${index}-${helpdesk.id}@customer.example>`;
    const { plan } = await record(helpdesk, messageId);
    const outcome = related ? 'supplement' : expected[setting];
    if (outcome === 'newTicket') {
      expect(plan).toMatchObject({ action: 'createTicket' });
      const created = await scenario.deps.tickets.getTicket(
        helpdesk.id,
        plan?.action === 'createTicket' ? plan.ticketNumber : 0,
      );
      expect(created?.title).toBe(`RE: [#${number}] Laptop slow`);
      expect(created?.number).not.toBe(number);
      return;
    }
    const flagged = outcome === 'supplement' ? null : 'Sender is not related to this ticket.';
    expect(plan).toEqual({
      action: 'supplement',
      ticketNumber: number,
      via: 'subject',
      flagged,
      automatic: null,
      ...(outcome === 'internal' ? { internal: true } : {}),
    });
    expect((await record(helpdesk, messageId)).state).toBe(flagged ? 'flagged' : 'stored');
    const { supplement, history } = await supplementOf(helpdesk, number, messageId);
    expect(supplement?.flagged).toBe(flagged);
    expect(supplement?.visibleToCustomer).toBe(outcome !== 'internal');
    if (flagged) expect(history?.text).toContain(flagged);
    else expect(history?.text).not.toContain('not related');
  });

  // Bug in shared/import/importMessage.ts (decidePlan): the thread is looked up only when the subject
  // names no known ticket, so decideTarget never learns that this reply threads into that very ticket.
  it('a reply-all in the thread from someone not on the ticket supplements it, even under newTicket', async () => {
    const helpdesk = helpdesks.newTicket;
    const number = tickets.get('newTicket') ?? 0;
    await deliver(helpdesk, {
      from: 'Ida It-Partner <ida@it-partner.example>',
      subject: `RE: [#${number}] Laptop slow`,
      text: 'I will look at it.\n',
      messageId: '<r18-reply-all@it-partner.example>',
      inReplyTo: `<r18-orig-${helpdesk.id}@customer.example>`,
    });
    await runTimerAndDrainQueue(scenario.env);
    expect((await record(helpdesk, '<r18-reply-all@it-partner.example>')).plan).toMatchObject({
      action: 'supplement',
      ticketNumber: number,
    });
  });
});

describe('automatic replies per setting (R15)', () => {
  function outOfOffice(number: number, messageId: string): Omit<TestMail, 'to'> {
    return {
      from: KARIN,
      subject: `Automatic reply: [#${number}] Monitor flickers`,
      text: 'I am out of the office until Monday.\n',
      messageId,
      headers: { 'Auto-Submitted': 'auto-replied', 'X-Auto-Response-Suppress': 'All' },
    };
  }

  it("'supplement': becomes a supplement marked automatic, and is not answered", async () => {
    const helpdesk = helpdesks.accept;
    const number = await ticketFrom(helpdesk, '<auto-orig-accept@customer.example>', 'Monitor flickers');
    await deliver(helpdesk, outOfOffice(number, '<auto-accept@customer.example>'));
    await runTimerAndDrainQueue(scenario.env);
    const stored = await record(helpdesk, '<auto-accept@customer.example>');
    expect(stored.classification?.kind).toBe('autoReply');
    expect(stored.plan).toEqual({
      action: 'supplement',
      ticketNumber: number,
      via: 'subject',
      flagged: null,
      automatic: 'Automatic reply.',
    });
    expect(stored.acknowledgement).toBeNull();
    const { supplement, history } = await supplementOf(helpdesk, number, '<auto-accept@customer.example>');
    expect(supplement?.automatic).toBe('Automatic reply.');
    expect(history?.text).toContain('Automatic reply.');
  });

  it("'skip': is skipped with the reason on its record", async () => {
    const helpdesk = helpdesks.acceptAndFlag;
    const number = await ticketFrom(helpdesk, '<auto-orig-flag@customer.example>', 'Monitor flickers');
    await deliver(helpdesk, outOfOffice(number, '<auto-flag@customer.example>'));
    await runTimerAndDrainQueue(scenario.env);
    const stored = await record(helpdesk, '<auto-flag@customer.example>');
    expect(stored).toMatchObject({
      state: 'skipped',
      classification: { kind: 'autoReply' },
      plan: { action: 'skip', reason: expect.stringContaining('skips auto-replies') },
      acknowledgement: null,
    });
    const { supplement } = await supplementOf(helpdesk, number, '<auto-flag@customer.example>');
    expect(supplement).toBeUndefined();
  });

  it('never makes a ticket of an automatic reply to nothing we know', async () => {
    const helpdesk = helpdesks.accept;
    const before = (await scenario.deps.tickets.listTickets(helpdesk.id)).length;
    await deliver(helpdesk, {
      from: 'Max Mustermann <max@kunde.example>',
      subject: 'Automatische Antwort: Angebot',
      text: 'Ich bin bis Montag nicht im Büro.\n',
      messageId: '<auto-nothing@kunde.example>',
      headers: { 'Auto-Submitted': 'auto-generated', 'X-Auto-Response-Suppress': 'All' },
    });
    await runTimerAndDrainQueue(scenario.env);
    expect(await record(helpdesk, '<auto-nothing@kunde.example>')).toMatchObject({
      state: 'skipped',
      plan: { action: 'skip', reason: 'automatic reply to no known ticket' },
    });
    expect(await scenario.deps.tickets.listTickets(helpdesk.id)).toHaveLength(before);
  });
});

describe('bounces and our own mail never make tickets (R15)', () => {
  const helpdesk = helpdesks.accept;
  let number: number;
  let ticketsBefore: number;

  beforeAll(async () => {
    number = await ticketFrom(helpdesk, '<bounce-orig@customer.example>', 'Keyboard missing keys');
    ticketsBefore = (await scenario.deps.tickets.listTickets(helpdesk.id)).length;
  });

  async function expectSkipped(messageId: string, kind: string, reason: string): Promise<void> {
    expect(await record(helpdesk, messageId)).toMatchObject({
      state: 'skipped',
      classification: { kind },
      plan: { action: 'skip', reason: expect.stringContaining(reason) },
      acknowledgement: null,
    });
  }

  it('skips an Exchange non-delivery report that carries the ticket number', async () => {
    await deliverRaw(
      helpdesk,
      [
        'From: Microsoft Outlook <postmaster@customer.example>',
        `To: ${address(helpdesk)}`,
        `Subject: Undeliverable: [#${number}] Keyboard missing keys`,
        `Thread-Topic: [#${number}] Keyboard missing keys`,
        'Date: Mon, 23 Nov 2026 09:00:00 +0000',
        'Message-ID: <ndr-1@DB8PR01MB1234.eurprd01.prod.exchangelabs.com>',
        'X-MS-Exchange-Message-Is-Ndr:',
        'MIME-Version: 1.0',
        'Content-Type: multipart/report; report-type=delivery-status; boundary="ndr"',
        '',
        '--ndr',
        'Content-Type: text/plain; charset=utf-8',
        '',
        "Your message to karin@customer.example couldn't be delivered.",
        '',
        '--ndr',
        'Content-Type: message/delivery-status',
        '',
        'Reporting-MTA: dns;DB8PR01MB1234.eurprd01.prod.outlook.com',
        '',
        'Final-recipient: RFC822; karin@customer.example',
        'Action: failed',
        'Status: 5.2.2',
        '',
        '--ndr--',
        '',
      ].join('\r\n'),
    );
    await runTimerAndDrainQueue(scenario.env);
    await expectSkipped('<ndr-1@DB8PR01MB1234.eurprd01.prod.exchangelabs.com>', 'bounce', 'delivery failure');
    const everything = await scenario.deps.tickets.ticketWithEverything(helpdesk.id, number);
    expect(everything?.supplements).toHaveLength(0);
  });

  it('skips a bounce from a mail delivery system that names no ticket', async () => {
    await deliver(helpdesk, {
      from: 'Mail Delivery System <MAILER-DAEMON@mx.customer.example>',
      subject: 'Mail delivery failed: returning message to sender',
      text: 'This message was created automatically by mail delivery software.\n',
      messageId: '<bounce-exim@mx.customer.example>',
      headers: { 'X-Failed-Recipients': 'gone@customer.example', 'Auto-Submitted': 'auto-replied' },
    });
    await runTimerAndDrainQueue(scenario.env);
    await expectSkipped('<bounce-exim@mx.customer.example>', 'bounce', 'delivery failure');
  });

  it('skips mail sent from our own mailbox', async () => {
    await deliver(helpdesk, {
      from: `Agent Anna <${address(helpdesk)}>`,
      subject: 'Your keyboard',
      text: 'A new keyboard is on its way.\n',
      messageId: '<agent-copy@accept.test>',
      headers: { Cc: 'karin@customer.example' },
    });
    await runTimerAndDrainQueue(scenario.env);
    await expectSkipped('<agent-copy@accept.test>', 'ownMail', 'our own mail');
  });

  it('skips our own acknowledgement when it comes back', async () => {
    const { graph } = scenario.local;
    const sent = graph.messages(address(helpdesk), 'sentitems');
    const ack = sent.find((m) => m.subject.includes('Keyboard missing keys'));
    if (!ack?.internetMessageId) throw new Error('no acknowledgement of the keyboard ticket');
    await deliverRaw(helpdesk, graph.rawMime(address(helpdesk), ack.id));
    await runTimerAndDrainQueue(scenario.env);
    await expectSkipped(ack.internetMessageId, 'ownMail', 'our own mail');
  });

  it('made no ticket of any of them', async () => {
    expect(await scenario.deps.tickets.listTickets(helpdesk.id)).toHaveLength(ticketsBefore);
  });
});

describe('a stranger who guesses a ticket number, under the default setting (R18)', () => {
  const helpdesk = testHelpdesk('default-r18', 'desk@default-r18.test', {
    acknowledgement: { newTicket: { enabled: true }, supplement: { enabled: true } },
  });
  let number: number;

  beforeAll(async () => {
    await seedHelpdesk(scenario, helpdesk);
    number = await ticketFrom(helpdesk, '<guess-orig@customer.example>', 'Salary slips');
    await deliver(helpdesk, {
      from: 'Mallory <mallory@attacker.example>',
      subject: `Re: [#${number}] anything`,
      text: 'Please send the slips to me instead.\n',
      messageId: '<guess-attack@attacker.example>',
    });
    await runTimerAndDrainQueue(scenario.env);
  });

  it('attack: writes only an internal supplement: hidden from the customer, the status unchanged', async () => {
    expect(helpdesk.importer.unrelatedSender).toBe('internalAndFlag');
    const { supplement } = await supplementOf(helpdesk, number, '<guess-attack@attacker.example>');
    expect(supplement).toMatchObject({
      visibleToCustomer: false,
      flagged: 'Sender is not related to this ticket.',
    });
    const ticket = await scenario.deps.tickets.getTicket(helpdesk.id, number);
    expect(ticket?.statusId).toBe('imported');
    expect(ticket?.participants).not.toContain('mallory@attacker.example');
    const sent = await sentMail(scenario, address(helpdesk));
    expect(sent.filter((s) => s.to.includes('mallory@attacker.example'))).toHaveLength(0);
  });

  it('attack: lists the mail as flagged for a person, next to (not among) the kept-aside mail', async () => {
    const key = messageKey('<guess-attack@attacker.example>');
    expect((await record(helpdesk, '<guess-attack@attacker.example>')).state).toBe('flagged');
    const listed = await keptAsideMessagesHandler(
      new HttpRequest({
        method: 'GET',
        url: `http://localhost/api/helpdesks/${helpdesk.id}/messages?state=flagged`,
        params: { helpdeskId: helpdesk.id },
      }),
      invocation('keptAsideMessages'),
    );
    expect(listed.status).toBe(200);
    expect(listed.jsonBody).toMatchObject({
      state: 'flagged',
      messages: [{ key, ticketNumber: number, senderDomain: 'attacker.example', reason: expect.any(String) }],
    });
    expect(
      (await listMessages(scenario.deps, { helpdeskId: helpdesk.id, state: 'keptAside' })).messages,
    ).toEqual([]);
  });

  it('refuses an unknown listing state with a 400 naming it', async () => {
    const listed = await keptAsideMessagesHandler(
      new HttpRequest({
        method: 'GET',
        url: `http://localhost/api/helpdesks/${helpdesk.id}/messages?state=stored`,
        params: { helpdeskId: helpdesk.id },
      }),
      invocation('keptAsideMessages'),
    );
    expect(listed.status).toBe(400);
    expect(listed.jsonBody).toMatchObject({ error: { field: 'query.state' } });
  });
});
