import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Helpdesk } from '../../shared/helpdesk/settings.js';
import type { MailRecord } from '../../shared/import/mailRecord.js';
import type { ParsedMail } from '../../shared/mail/parsedMail.js';
import { stripReplyPrefixes } from '../../shared/tickets/ticketNumber.js';
import { runTimerAndDrainQueue } from '../support/functionRuns.js';
import { testHelpdesk } from '../support/helpdeskFixtures.js';
import {
  type ImportScenario,
  mailRecords,
  seedHelpdesk,
  sentMail,
  startImportScenario,
} from '../support/importScenario.js';
import { rawMail } from '../support/mail.js';
import { parsedMailFromSource } from '../support/parsedMailFromFile.js';

/**
 * Loops between robots (R15, R16): two helpdesks that acknowledge each other, an out-of-office
 * responder and a badly behaved responder that answers everything, run for many timer cycles on the
 * Graph emulator (which delivers sent mail to every emulated recipient). Simulated time moves ten
 * minutes per cycle, so both the hourly and the daily limit per sender are reached.
 */

const ALPHA = 'desk@alpha.test';
const BETA = 'desk@beta.test';
/** Answers every mail with an Exchange Online out-of-office reply. */
const OUT_OF_OFFICE = 'olga@customer.example';
/** Answers every mail with "Re: <subject>" and no automation header at all. */
const ROBOT = 'robot@vendor.example';
/** Not hosted anywhere: mail to it comes back as a bounce. */
const GONE = 'gone@lost.example';

const CYCLES = 30;
const CYCLE_MS = 10 * 60_000;
const HOUR_MS = 3_600_000;
const LIMITS = { maxPerSenderPerHour: 3, maxPerSenderPerDay: 8 };
const START = Date.parse('2026-11-23T07:00:00Z');

function acknowledging(id: string, mailbox: string, importer: Record<string, unknown>, prefix?: string) {
  return testHelpdesk(
    id,
    mailbox,
    {
      acknowledgement: { newTicket: { enabled: true }, supplement: { enabled: true }, ...LIMITS },
      ...importer,
    },
    prefix ? { ticketPrefix: prefix } : {},
  );
}

const alpha: Helpdesk = acknowledging('alpha', ALPHA, { autoReplies: 'supplement' }, 'AL');
const beta: Helpdesk = acknowledging('beta', BETA, { autoReplies: 'skip' });
const hosted = new Set([ALPHA, BETA, OUT_OF_OFFICE, ROBOT]);

let scenario: ImportScenario;
/** Graph ids of mail a simulated party has already reacted to. */
const handled = new Set<string>();

beforeAll(async () => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(START);
  scenario = await startImportScenario();
  await seedHelpdesk(scenario, alpha);
  await seedHelpdesk(scenario, beta);
  scenario.local.graph.addMailbox(OUT_OF_OFFICE);
  scenario.local.graph.addMailbox(ROBOT);
});

afterAll(async () => {
  vi.useRealTimers();
  await scenario?.local.close();
});

/** Puts a responder's mail in its Sent Items and in the inbox of every hosted recipient. */
function send(from: string, recipients: string[], raw: Buffer): void {
  const { graph } = scenario.local;
  graph.deliver(from, raw, { folder: 'sentitems', isRead: true });
  deliver(recipients, raw);
}

/** Delivers mail written by a person (not counted as sent by a robot). */
function deliver(recipients: string[], raw: Buffer): void {
  for (const recipient of recipients.filter((address) => hosted.has(address))) {
    scenario.local.graph.deliver(recipient, raw);
  }
}

function exchangeOutOfOffice(incoming: ParsedMail): Promise<Buffer> {
  const topic = stripReplyPrefixes(incoming.subject);
  return rawMail({
    from: `Olga Out <${OUT_OF_OFFICE}>`,
    to: incoming.from?.address ?? '',
    subject: `Automatic reply: ${incoming.subject}`,
    text: 'I am out of the office until 1 December with no access to e-mail.\n',
    messageId: `<${randomUUID()}@AM0PR01MB1234.eurprd01.prod.outlook.com>`,
    inReplyTo: incoming.messageId ?? undefined,
    references: incoming.messageId ? [incoming.messageId] : [],
    date: new Date(),
    headers: {
      'Thread-Topic': topic,
      'Thread-Index': 'AQHbPxyz1234567890abcdefghijklmno==',
      'Auto-Submitted': 'auto-generated',
      'X-Auto-Response-Suppress': 'All',
      'X-MS-Exchange-Inbox-Rules-Loop': OUT_OF_OFFICE,
      'X-MS-Exchange-Generated-Message-Source': 'Mailbox Rules Agent',
      'X-MS-Has-Attach': '',
    },
  });
}

function robotAnswer(incoming: ParsedMail): Promise<Buffer> {
  return rawMail({
    from: `Vendor Robot <${ROBOT}>`,
    to: incoming.from?.address ?? '',
    subject: `Re: ${incoming.subject}`,
    text: 'Thank you for your message. It has been received and will be processed.\n',
    messageId: `<${randomUUID()}@vendor.example>`,
    inReplyTo: incoming.messageId ?? undefined,
    references: incoming.messageId ? [incoming.messageId] : [],
    date: new Date(),
  });
}

/** A Postfix delivery status notification for mail to a recipient nobody hosts. */
function bounce(original: ParsedMail, helpdeskMailbox: string, recipient: string): Buffer {
  const domain = helpdeskMailbox.split('@')[1] ?? 'example.test';
  const boundary = `B${randomUUID()}`;
  return Buffer.from(
    [
      'Return-Path: <>',
      `From: MAILER-DAEMON@mx.${domain} (Mail Delivery System)`,
      `To: ${helpdeskMailbox}`,
      'Subject: Undelivered Mail Returned to Sender',
      `Date: ${new Date().toUTCString()}`,
      `Message-ID: <${randomUUID()}@mx.${domain}>`,
      'Auto-Submitted: auto-replied',
      'MIME-Version: 1.0',
      `Content-Type: multipart/report; report-type=delivery-status; boundary="${boundary}"`,
      '',
      `--${boundary}`,
      'Content-Type: text/plain; charset=us-ascii',
      '',
      'Your message could not be delivered to one or more recipients.',
      '',
      `--${boundary}`,
      'Content-Type: message/delivery-status',
      '',
      `Reporting-MTA: dns; mx.${domain}`,
      '',
      `Final-Recipient: rfc822; ${recipient}`,
      'Action: failed',
      'Status: 5.1.1',
      '',
      `--${boundary}`,
      'Content-Type: text/rfc822-headers',
      '',
      `Message-ID: ${original.messageId ?? ''}`,
      `Subject: ${original.subject}`,
      '',
      `--${boundary}--`,
      '',
    ].join('\r\n'),
  );
}

/** What the world does between two timer cycles: the responders answer, the MTA bounces. */
async function worldReacts(): Promise<void> {
  const { graph } = scenario.local;
  for (const [mailbox, answer] of [
    [OUT_OF_OFFICE, exchangeOutOfOffice],
    [ROBOT, robotAnswer],
  ] as const) {
    for (const view of graph.messages(mailbox, 'inbox').filter((m) => !handled.has(m.id))) {
      handled.add(view.id);
      const incoming = await parsedMailFromSource(graph.rawMime(mailbox, view.id));
      const to = incoming.from?.address ?? '';
      send(mailbox, [to], await answer(incoming));
    }
  }
  for (const desk of [ALPHA, BETA]) {
    for (const view of graph.messages(desk, 'sentitems').filter((m) => !handled.has(m.id))) {
      handled.add(view.id);
      const sent = await parsedMailFromSource(graph.rawMime(desk, view.id));
      for (const to of sent.to.map((address) => address.address).filter((a) => !hosted.has(a))) {
        graph.deliver(desk, bounce(sent, desk, to));
      }
    }
  }
}

/** The vendor's system mails a new delivery note every hour from the robot's mailbox. */
async function deliveryNote(n: number): Promise<void> {
  deliver(
    [ALPHA, BETA],
    await rawMail({
      from: `Vendor Robot <${ROBOT}>`,
      to: `${ALPHA}, ${BETA}`,
      subject: `Delivery note ${n}`,
      text: `Delivery note ${n} is attached.\n`,
      messageId: `<note-${n}@vendor.example>`,
      date: new Date(),
    }),
  );
}

async function firstMails(): Promise<void> {
  const { graph } = scenario.local;
  // An agent of each helpdesk writes to the other helpdesk from the shared mailbox.
  graph.deliver(
    ALPHA,
    await rawMail({
      from: `Beta Helpdesk <${BETA}>`,
      to: ALPHA,
      subject: 'Order 4711 not delivered',
      text: 'Our order 4711 has not arrived.\n',
      messageId: '<beta-agent-1@beta.test>',
      date: new Date(),
    }),
  );
  graph.deliver(
    BETA,
    await rawMail({
      from: `Alpha Helpdesk <${ALPHA}>`,
      to: BETA,
      subject: 'Invoice 2026-17 question',
      text: 'Could you explain line 3 of invoice 2026-17?\n',
      messageId: '<alpha-agent-1@alpha.test>',
      date: new Date(),
    }),
  );
  const vpn = await rawMail({
    from: `Olga Out <${OUT_OF_OFFICE}>`,
    to: ALPHA,
    subject: 'VPN down',
    text: 'The VPN does not connect since this morning.\n',
    messageId: '<olga-1@customer.example>',
    headers: { Cc: BETA },
    date: new Date(),
  });
  deliver([ALPHA, BETA], vpn);
  graph.deliver(
    ALPHA,
    await rawMail({
      from: `Gone Customer <${GONE}>`,
      to: ALPHA,
      subject: 'Please close my account',
      text: 'I am leaving the company.\n',
      messageId: '<gone-1@lost.example>',
      date: new Date(),
    }),
  );
  // A mailing list the helpdesk is subscribed to: a ticket may come of it, an answer never.
  graph.deliver(
    ALPHA,
    await rawMail({
      from: 'Peter Poster <peter@members.example>',
      to: 'users@lists.vendor.example',
      subject: '[vendor-users] Firmware 4.2 breaks printing',
      text: 'Anyone else seeing this?\n',
      messageId: '<list-1@members.example>',
      date: new Date(),
      headers: {
        Sender: 'users-bounces@lists.vendor.example',
        'List-Id': 'Vendor users <users.lists.vendor.example>',
        'List-Unsubscribe': '<mailto:users-leave@lists.vendor.example>',
        'List-Post': '<mailto:users@lists.vendor.example>',
        Precedence: 'list',
      },
    }),
  );
}

interface PairCount {
  from: string;
  to: string;
  sentAt: number[];
}

async function sentPerPair(): Promise<PairCount[]> {
  const pairs = new Map<string, PairCount>();
  for (const from of hosted) {
    for (const { sentAt, to } of await sentMail(scenario, from)) {
      for (const recipient of to) {
        const key = `${from} → ${recipient}`;
        const pair = pairs.get(key) ?? { from, to: recipient, sentAt: [] };
        pair.sentAt.push(Date.parse(sentAt));
        pairs.set(key, pair);
      }
    }
  }
  return [...pairs.values()];
}

/** Most mails of the pair within any hour. */
function busiestHour(sentAt: number[]): number {
  return Math.max(0, ...sentAt.map((t) => sentAt.filter((u) => u >= t && u < t + HOUR_MS).length));
}

function count(pairs: PairCount[], from: string, to: string): number {
  return pairs.find((pair) => pair.from === from && pair.to === to)?.sentAt.length ?? 0;
}

describe('mail loops over many timer cycles', () => {
  let pairs: PairCount[];
  let records: MailRecord[];

  beforeAll(async () => {
    await firstMails();
    for (let cycle = 0; cycle < CYCLES; cycle++) {
      vi.setSystemTime(START + cycle * CYCLE_MS);
      if (cycle % 6 === 0) await deliveryNote(cycle / 6 + 1);
      await runTimerAndDrainQueue(scenario.env);
      await worldReacts();
    }
    pairs = await sentPerPair();
    records = [...(await mailRecords(scenario, 'alpha')), ...(await mailRecords(scenario, 'beta'))];
    const total = pairs.reduce((sum, pair) => sum + pair.sentAt.length, 0);
    console.log(
      `mail loops: ${CYCLES} cycles over ${(CYCLES * CYCLE_MS) / HOUR_MS} h, ${total} mails sent, ${records.length} imported; ` +
        pairs
          .map(
            (pair) =>
              `${pair.from} → ${pair.to}: ${pair.sentAt.length} (busiest hour ${busiestHour(pair.sentAt)})`,
          )
          .join('; '),
    );
  }, 120_000);

  it('keeps every helpdesk → sender pair within the hourly and daily limits', () => {
    const fromHelpdesks = pairs.filter((pair) => pair.from === ALPHA || pair.from === BETA);
    expect(fromHelpdesks.length).toBeGreaterThan(0);
    for (const pair of fromHelpdesks) {
      expect(pair.sentAt.length, `${pair.from} → ${pair.to}`).toBeLessThanOrEqual(LIMITS.maxPerSenderPerDay);
      expect(busiestHour(pair.sentAt), `${pair.from} → ${pair.to}`).toBeLessThanOrEqual(
        LIMITS.maxPerSenderPerHour,
      );
    }
  });

  it('is stopped only by the limits when the other side answers everything without marking it', () => {
    // The robot kept answering (with delivery notes every hour restarting the exchange) until the
    // daily limit, and its answers went on being imported as supplements afterwards.
    expect(count(pairs, ALPHA, ROBOT)).toBe(LIMITS.maxPerSenderPerDay);
    expect(count(pairs, BETA, ROBOT)).toBe(LIMITS.maxPerSenderPerDay);
    expect(count(pairs, ROBOT, ALPHA)).toBe(LIMITS.maxPerSenderPerDay);
    const robotMail = records.filter((r) => r.helpdeskId === 'alpha' && r.senderDomain === 'vendor.example');
    expect(robotMail.every((r) => r.classification?.kind === 'normal')).toBe(true);
    expect(robotMail.filter((r) => r.plan?.action === 'createTicket')).toHaveLength(CYCLES / 6);
    expect(robotMail.filter((r) => r.acknowledgement === null).length).toBeGreaterThan(0);
  });

  it('sends one acknowledgement where the other side is a robot that marks its mail', () => {
    // Helpdesk to helpdesk: our acknowledgements are recognised on the other side and never answered.
    expect(count(pairs, ALPHA, BETA)).toBe(1);
    expect(count(pairs, BETA, ALPHA)).toBe(1);
    // Out-of-office: one acknowledgement of the new ticket each, one automatic reply to it, nothing more.
    expect(count(pairs, ALPHA, OUT_OF_OFFICE)).toBe(1);
    expect(count(pairs, BETA, OUT_OF_OFFICE)).toBe(1);
    expect(count(pairs, OUT_OF_OFFICE, ALPHA)).toBe(1);
    expect(count(pairs, OUT_OF_OFFICE, BETA)).toBe(1);
    // A bounce is the end of it.
    expect(count(pairs, ALPHA, GONE)).toBe(1);
  });

  it('never answers automatic replies, bounces, list mail or its own mail, and never makes tickets of them', () => {
    const automated = records.filter((r) => r.classification?.kind !== 'normal');
    expect(new Set(automated.map((r) => r.classification?.kind))).toEqual(
      new Set(['ownMail', 'autoReply', 'bounce', 'bulk']),
    );
    for (const record of automated) {
      expect(record.acknowledgement, `${record.subject} (${record.classification?.kind})`).toBeNull();
      if (record.classification?.kind !== 'bulk') expect(record.plan?.action).not.toBe('createTicket');
    }
    const list = records.find((r) => r.classification?.kind === 'bulk');
    expect(list).toMatchObject({ state: 'stored', plan: { action: 'createTicket' } });
    const bounces = records.filter((r) => r.classification?.kind === 'bounce');
    expect(bounces).toHaveLength(1);
    expect(bounces[0]?.plan).toMatchObject({ action: 'skip', reason: expect.stringContaining('delivery') });
    const outOfOffice = records.filter((r) => r.senderDomain === 'customer.example' && r.state !== 'stored');
    expect(outOfOffice.map((r) => `${r.helpdeskId}:${r.classification?.kind}:${r.state}`)).toEqual([
      'beta:autoReply:skipped',
    ]);
    const supplementedOof = records.find(
      (r) => r.helpdeskId === 'alpha' && r.classification?.kind === 'autoReply',
    );
    expect(supplementedOof?.plan).toMatchObject({ action: 'supplement', automatic: 'Automatic reply.' });
  });

  it('answered only mail classified normal, in reply to exactly that mail', async () => {
    const answeredIds = new Set(
      records.filter((r) => r.acknowledgement?.state === 'sent').map((r) => r.acknowledgement?.messageId),
    );
    for (const desk of [ALPHA, BETA]) {
      for (const { mail } of await sentMail(scenario, desk)) {
        expect(answeredIds.has(mail.messageId ?? '')).toBe(true);
        const answered = records.find((r) => r.internetMessageId === mail.inReplyTo[0]);
        expect(answered?.classification?.kind, mail.subject).toBe('normal');
      }
    }
  });
});
