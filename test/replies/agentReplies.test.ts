import { QueueClient } from '@azure/storage-queue';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { crashingProcess, SimulatedCrash } from '../../local/crashInjection.js';
import type { LocalHost } from '../../local/host.js';
import { appServices } from '../../shared/app/services.js';
import type { Helpdesk } from '../../shared/helpdesk/settings.js';
import type { FunctionDefinition } from '../../shared/host/functionDefinition.js';
import type { ParsedMail } from '../../shared/mail/parsedMail.js';
import { createReplyTelemetry, REPLY_RECORD_PREFIX } from '../../shared/observability/telemetry.js';
import { StorageReplyJobQueue } from '../../shared/queue/replyJobs.js';
import { postReply, replyIdForKey, retryReply } from '../../shared/replies/agentReplies.js';
import { requeueLostReplies } from '../../shared/replies/lostReplies.js';
import type { AgentReply, ReplyDependencies } from '../../shared/replies/ports.js';
import { replyJobSchema } from '../../shared/replies/replyJob.js';
import { MAX_SEND_ATTEMPTS, sendReply } from '../../shared/replies/sendReply.js';
import { testHelpdesk } from '../support/helpdeskFixtures.js';
import { hostApi, startHostWithoutTimers } from '../support/hostApi.js';
import {
  header,
  type ImportScenario,
  seedHelpdesk,
  sentMail,
  startImportScenario,
} from '../support/importScenario.js';
import { pngImage, rawMail } from '../support/mail.js';
import { parsedMailFromSource } from '../support/parsedMailFromFile.js';

/**
 * Agent replies by mail (R21) through the local host: a customer's mail becomes a ticket, an agent's
 * reply goes out through the queue function and Graph, arrives in the customer's (emulated) mailbox,
 * and the customer's answers to it come back into the same ticket. Then the exactly-once cases: a
 * process that dies between sending and recording, and a send that fails on every delivery.
 */

const SEPARATOR = '==== vul boven deze regel uw reactie ====';
const KARIN = 'karin@customer.example';
const AGENT = { employeeId: 'emp-agent', name: 'Aziz Agent' };

const desk: Helpdesk = testHelpdesk('replies', 'desk@replies.test', {
  acknowledgement: { newTicket: { enabled: true } },
});
const crashDesk: Helpdesk = testHelpdesk('repliescrash', 'desk@repliescrash.test');
const failDesk: Helpdesk = testHelpdesk('repliesfail', 'desk@repliesfail.test');

let scenario: ImportScenario;
let host: LocalHost;
let replyDeps: ReplyDependencies;
const hostLog: string[] = [];
const quiet = { info: () => {}, warn: () => {}, error: () => {} };
let crashedAt: string | null = null;
/** Reply telemetry of the sends this file runs itself, as parsed records. */
const replyRecords: Array<Record<string, unknown>> = [];
const keepRecord = (line: unknown) =>
  replyRecords.push(JSON.parse(String(line).slice(REPLY_RECORD_PREFIX.length + 1)));
const telemetry = createReplyTelemetry({ info: keepRecord, warn: keepRecord, error: keepRecord });

/** The send function, but its first delivery of a job runs in a process that dies right after sendMail. */
const crashingSend: FunctionDefinition = {
  trigger: 'queue',
  name: 'crashingSend',
  queueName: '%CRASH_QUEUE%',
  connection: 'AzureWebJobsStorage',
  handler: async (message, context) => {
    const job = { ...replyJobSchema.parse(message), messageId: String(context.triggerMetadata?.id) };
    if (Number(context.triggerMetadata?.dequeueCount ?? 1) > 1) {
      await sendReply(replyDeps, job, telemetry);
      return;
    }
    const process = crashingProcess(
      replyDeps,
      { atCall: (call) => (call === 'mailSource.sendMime' ? 'after' : null) },
      ['replies', 'replyJobs'],
    );
    try {
      await sendReply(process.deps, job, telemetry);
    } finally {
      crashedAt = process.diedAt();
    }
  },
};

beforeAll(async () => {
  // Longer than the host's redelivery (1 s): a redelivered attempt always waits for Sent Items first.
  scenario = await startImportScenario({ SENT_ITEMS_DELAY_SECONDS: '3' });
  for (const helpdesk of [desk, crashDesk, failDesk]) await seedHelpdesk(scenario, helpdesk);
  scenario.local.graph.addMailbox(KARIN, { displayName: 'Karin Klant' });
  replyDeps = appServices().replyDependencies(quiet);
  const crashQueue = `${scenario.env.REPLY_QUEUE_NAME}-crash`;
  await new QueueClient(scenario.env.AzureWebJobsStorage ?? '', crashQueue).createIfNotExists();
  host = await startHostWithoutTimers({
    extraFunctions: [crashingSend],
    env: { ...scenario.env, CRASH_QUEUE: crashQueue },
    hostJson: {
      version: '2.0',
      extensions: {
        queues: {
          maxPollingInterval: '00:00:00.2',
          visibilityTimeout: '00:00:01',
          maxDequeueCount: 3,
          messageEncoding: 'base64',
        },
      },
    },
    httpPort: 0,
    log: (line) => hostLog.push(line),
  });
}, 120_000);

afterAll(async () => {
  await host?.stop();
  await scenario?.local.close();
});

/** Karin writes to the helpdesk; the import over HTTP makes a ticket of it. Its number and Message-ID. */
async function ticketFromKarin(helpdesk: Helpdesk, subject: string, text: string) {
  const messageId = `<${subject.replace(/\W+/g, '-')}-${Date.now()}@customer.example>`;
  const mailbox = helpdesk.importer.mailboxes[0]?.userId ?? '';
  scenario.local.graph.deliver(
    mailbox,
    await rawMail({
      from: `Karin Klant <${KARIN}>`,
      to: mailbox,
      subject,
      text,
      messageId,
      attachments: [{ filename: 'printer.png', content: pngImage(7), contentType: 'image/png' }],
    }),
  );
  const run = await hostApi(host, 'POST', `helpdesks/${helpdesk.id}/import`);
  expect(run.status).toBe(200);
  const created = (run.json as { mailboxes: { created: number[] }[] }).mailboxes[0]?.created ?? [];
  expect(created).toHaveLength(1);
  return { number: created[0] ?? 0, messageId };
}

/** The mail with this Message-ID in Karin's inbox, parsed; every copy of it counted. */
async function inKarinsInbox(messageId: string): Promise<{ mail: ParsedMail; copies: number }> {
  const { graph } = scenario.local;
  const copies = graph.messages(KARIN, 'inbox').filter((m) => m.internetMessageId === messageId);
  const first = copies[0];
  if (!first) throw new Error(`no mail ${messageId} in ${KARIN}'s inbox`);
  return { mail: await parsedMailFromSource(graph.rawMime(KARIN, first.id)), copies: copies.length };
}

interface ReplyState {
  status: string;
  messageId: string;
  sentAt: string | null;
  error: string | null;
}

async function replyState(helpdesk: Helpdesk, ticket: number, replyId: string): Promise<ReplyState> {
  const answer = await hostApi(host, 'GET', `helpdesks/${helpdesk.id}/tickets/${ticket}/replies/${replyId}`);
  expect(answer.status).toBe(200);
  return answer.json as ReplyState;
}

async function history(helpdesk: Helpdesk, ticket: number) {
  const everything = await replyDeps.tickets.ticketWithEverything(helpdesk.id, ticket);
  if (!everything) throw new Error(`no ticket ${ticket}`);
  return everything;
}

/** Lines of a mail as a mail client quotes them with "> ". */
function quoted(text: string): string {
  return text
    .trimEnd()
    .split(/\r?\n/)
    .map((line) => `> ${line}`)
    .join('\n');
}

describe('an agent reply goes out by mail and the customer answers into the same ticket', () => {
  let ticket: { number: number; messageId: string };
  let replyId: string;
  let state: ReplyState;
  let received: ParsedMail;

  beforeAll(async () => {
    ticket = await ticketFromKarin(desk, 'Printer on fire', 'The printer on floor 2 is smoking.\n');
    const image = (await history(desk, ticket.number)).ticket.images[0]?.blobName.split('/').pop() ?? '';
    const posted = await hostApi(host, 'POST', `helpdesks/${desk.id}/tickets/${ticket.number}/replies`, {
      text: 'Please switch it off and unplug it.\nA technician is on the way.',
      html: `<p>Please switch it <b>off</b> and unplug it.</p><p>A technician is on the way.</p><p><img src="cid:${image}"></p>`,
      images: [image],
      author: AGENT,
    });
    expect(posted.status).toBe(202);
    const body = posted.json as { replyId: string; status: string };
    expect(body.status).toBe('queued');
    replyId = body.replyId;
    await host.drainQueues();
    state = await replyState(desk, ticket.number, replyId);
    received = (await inKarinsInbox(state.messageId)).mail;
  }, 60_000);

  it('is sent, once, with the ticket number in the subject and the separator on top', async () => {
    expect(state).toMatchObject({ status: 'sent', error: null });
    expect(state.sentAt).not.toBeNull();
    expect((await inKarinsInbox(state.messageId)).copies).toBe(1);
    expect(received.subject).toBe(`[#${ticket.number}] Printer on fire`);
    expect(received.text.trimStart().startsWith(SEPARATOR)).toBe(true);
    expect(received.text).toContain('Please switch it off and unplug it.');
    expect(received.text).toContain(AGENT.name);
    expect(received.from?.address).toBe('desk@replies.test');
    expect(received.to.map((to) => to.address)).toEqual([KARIN]);
  });

  it('threads to the customer’s mail and carries our deterministic Message-ID', () => {
    expect(received.messageId).toBe(state.messageId);
    expect(received.inReplyTo).toEqual([ticket.messageId]);
    expect(received.references.join(' ')).toContain(ticket.messageId);
    expect(header(received, 'X-Helpdesk-Mail-Importer')).toBe('agentReply');
    // Written by a person: out-of-office responders may answer it.
    expect(header(received, 'Auto-Submitted')).toBeUndefined();
  });

  it('carries the image inline, referenced by cid:', () => {
    const inline = received.attachments.filter((a) => a.contentId !== null);
    expect(inline).toHaveLength(1);
    expect(inline[0]).toMatchObject({ contentType: 'image/png', size: pngImage(7).length });
    // As sent: the parser hands the HTML over with the image already put in place.
    const { graph } = scenario.local;
    const copy = graph.messages(KARIN, 'inbox').find((m) => m.internetMessageId === state.messageId);
    const raw = graph.rawMime(KARIN, copy?.id ?? '').toString('latin1');
    expect(raw.replace(/\r\n[ \t]+/g, ' ')).toContain(`Content-ID: <${inline[0]?.contentId}>`);
    expect(raw.replace(/=\r\n/g, '').replace(/=3D/g, '=')).toContain(`src="cid:${inline[0]?.contentId}"`);
  });

  it('is in the ticket’s history: queued, then sent', async () => {
    const { supplements, history: entries } = await history(desk, ticket.number);
    const reply = supplements.find((s) => s.supplementType === 'agentReply');
    expect(reply?.description).toBe('Please switch it off and unplug it.\nA technician is on the way.');
    expect(reply?.createdBy).toEqual({ id: AGENT.employeeId, name: AGENT.name });
    expect(entries.filter((e) => e.event.startsWith('agentReply')).map((e) => e.event)).toEqual([
      'agentReplyQueued',
      'agentReplySent',
    ]);
  });

  it('takes the customer’s answers, Outlook-style and Gmail-style without the number, as supplements of the ticket', async () => {
    const mailbox = desk.importer.mailboxes[0]?.userId ?? '';
    const outlook = 'Thanks, it is unplugged now.';
    const gmail = 'The technician has arrived, thank you.';
    const sentOn = 'Monday, 23 November 2026 09:30';
    const outlookQuote = [
      '________________________________',
      `From: ${desk.name} <${mailbox}>`,
      `Sent: ${sentOn}`,
      `To: Karin Klant <${KARIN}>`,
      `Subject: ${received.subject}`,
      '',
      received.text,
    ].join('\n');
    scenario.local.graph.deliver(
      mailbox,
      await rawMail({
        from: `Karin Klant <${KARIN}>`,
        to: mailbox,
        subject: `RE: ${received.subject}`,
        text: `${outlook}\n\n${outlookQuote}`,
        html: `<div>${outlook}</div><hr><div id="divRplyFwdMsg"><b>From:</b> ${desk.name} &lt;${mailbox}&gt;<br><b>Sent:</b> ${sentOn}<br><b>Subject:</b> ${received.subject}</div>${received.html ?? ''}`,
        messageId: '<outlook-answer@customer.example>',
        inReplyTo: state.messageId,
        references: [...received.references, state.messageId],
      }),
    );
    scenario.local.graph.deliver(
      mailbox,
      await rawMail({
        from: `Karin Klant <${KARIN}>`,
        to: mailbox,
        // The customer's client or the customer removed the ticket number: only the headers thread it.
        subject: 'Re: Printer on fire',
        text: `${gmail}\n\nOn Mon, 23 Nov 2026 at 09:30, ${desk.name} <${mailbox}> wrote:\n${quoted(received.text)}\n`,
        html: `<div dir="ltr">${gmail}</div><br><div class="gmail_quote"><div class="gmail_attr">On Mon, 23 Nov 2026 at 09:30, ${desk.name} &lt;${mailbox}&gt; wrote:<br></div><blockquote class="gmail_quote">${received.html ?? ''}</blockquote></div>`,
        messageId: '<gmail-answer@customer.example>',
        inReplyTo: state.messageId,
        references: [state.messageId],
        date: new Date('2026-11-23T09:40:00Z'),
      }),
    );
    const run = await hostApi(host, 'POST', `helpdesks/${desk.id}/import`);
    expect(run.status).toBe(200);
    const report = (run.json as { mailboxes: { created: number[]; supplemented: number[] }[] }).mailboxes[0];
    expect(report?.created).toEqual([]);
    expect(report?.supplemented).toEqual([ticket.number, ticket.number]);

    const { supplements } = await history(desk, ticket.number);
    const answers = supplements.filter((s) => s.supplementType === 'importedFromMail');
    expect(answers.map((s) => s.description.trim()).sort()).toEqual([gmail, outlook].sort());
    expect((await replyDeps.tickets.listTickets(desk.id)).map((t) => t.number)).toEqual([ticket.number]);
    // Sent: the acknowledgement of the new ticket and the reply; nothing for the answers.
    const sent = await sentMail(scenario, mailbox);
    expect(sent.map((s) => s.mail.messageId).filter((id) => id !== state.messageId)).toHaveLength(1);
    expect(sent).toHaveLength(2);
  });
});

describe('people the agent writes to beside the contact', () => {
  it('take part in the ticket: their own mail with its number is a visible supplement, not flagged', async () => {
    const ticket = await ticketFromKarin(desk, 'Contract renewal', 'Can we renew the contract?\n');
    const auditor = 'auditor@partner.example';
    const posted = await hostApi(host, 'POST', `helpdesks/${desk.id}/tickets/${ticket.number}/replies`, {
      text: 'Our auditor will confirm the terms.',
      cc: ['Auditor@Partner.example'],
      author: AGENT,
    });
    expect(posted.status).toBe(202);
    const { replyId } = posted.json as { replyId: string };
    await host.drainQueues();
    const { subject } = (await replyState(desk, ticket.number, replyId)) as ReplyState & { subject: string };
    expect((await history(desk, ticket.number)).ticket.participants).toContain(auditor);

    // A new mail of the auditor's (no In-Reply-To), with only the number in its subject to find the ticket.
    const mailbox = desk.importer.mailboxes[0]?.userId ?? '';
    scenario.local.graph.deliver(
      mailbox,
      await rawMail({
        from: `The Auditor <${auditor}>`,
        to: mailbox,
        subject: `Re: ${subject}`,
        text: 'Confirmed.\n',
      }),
    );
    const run = await hostApi(host, 'POST', `helpdesks/${desk.id}/import`);
    expect((run.json as { mailboxes: { supplemented: number[] }[] }).mailboxes[0]?.supplemented).toEqual([
      ticket.number,
    ]);
    const answer = (await history(desk, ticket.number)).supplements.find(
      (s) => s.description.trim() === 'Confirmed.',
    );
    expect(answer).toMatchObject({ visibleToCustomer: true, flagged: null });
  });
});

describe('refused before anything is stored', () => {
  it('names the field: a no-reply address, an image the ticket does not have, an unknown template', async () => {
    const ticket = await ticketFromKarin(desk, 'Scanner jammed', 'Paper stuck.\n');
    const path = `helpdesks/${desk.id}/tickets/${ticket.number}/replies`;
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ to: ['no-reply@customer.example'] }, 'body.to.0'],
      [{ cc: [KARIN, 'MAILER-DAEMON@customer.example'] }, 'body.cc.1'],
      [{ cc: ['desk@replies.test'] }, 'body.cc.0'],
      [{ images: ['0123456789abcdef0123.png'] }, 'body.images.0'],
      [{ template: 'nonexistent' }, 'body.template'],
      [{ author: { employeeId: 'emp-agent' } }, 'body.author.name'],
    ];
    for (const [change, field] of cases) {
      const answer = await hostApi(host, 'POST', path, { text: 'Hello', author: AGENT, ...change });
      expect(answer.status, field).toBe(400);
      expect((answer.json as { error: { field: string } }).error.field).toBe(field);
    }
    expect((await history(desk, ticket.number)).supplements).toEqual([]);
    expect(
      (
        await hostApi(host, 'POST', `helpdesks/${desk.id}/tickets/99999/replies`, {
          text: 'x',
          author: AGENT,
        })
      ).status,
    ).toBe(404);
  });

  it('refuses a reply template with an unknown placeholder when the settings are saved', async () => {
    const path = `helpdesks/${desk.id}/importer`;
    const current = (await hostApi(host, 'GET', path)).json as Record<string, unknown>;
    const answer = await hostApi(host, 'PUT', path, {
      ...current,
      replies: {
        templates: [{ id: 'formal', subject: '[#{ticketNumber}] {title}', body: 'Dear {customer},\n{body}' }],
      },
    });
    expect(answer.status).toBe(400);
    expect((answer.json as { error: { field: string; message: string } }).error).toMatchObject({
      field: 'body.replies.templates.0.body',
      message: expect.stringContaining('{customer}'),
    });
  });
});

describe('exactly once', () => {
  it('a process that dies between sending and recording: the redelivery finds the mail in Sent Items', async () => {
    const ticket = await ticketFromKarin(crashDesk, 'Monitor flickers', 'Since this morning.\n');
    const crashJobs = new StorageReplyJobQueue(
      new QueueClient(scenario.env.AzureWebJobsStorage ?? '', `${scenario.env.REPLY_QUEUE_NAME}-crash`),
    );
    const { replyId } = await postReply(
      { ...replyDeps, replyJobs: crashJobs },
      {
        helpdeskId: crashDesk.id,
        ticketNumber: ticket.number,
        request: { text: 'Try another cable.', author: AGENT, images: [] },
      },
    );
    await host.drainQueues();
    expect(crashedAt).toBe('after mailSource.sendMime');
    const state = await replyState(crashDesk, ticket.number, replyId);
    expect(state.status).toBe('sent');
    const mailbox = crashDesk.importer.mailboxes[0]?.userId ?? '';
    const sent = (await sentMail(scenario, mailbox)).filter((s) => s.mail.messageId === state.messageId);
    expect(sent).toHaveLength(1);
    expect((await inKarinsInbox(state.messageId)).copies).toBe(1);
    const { history: entries } = await history(crashDesk, ticket.number);
    expect(entries.filter((e) => e.event === 'agentReplySent')).toHaveLength(1);
  }, 60_000);

  it('throttled sendMail (429) is retried inside the one delivery, as Retry-After says', async () => {
    const ticket = await ticketFromKarin(failDesk, 'Mouse slow', 'Very slow.\n');
    scenario.local.graph.injectFault({
      route: 'sendMail',
      method: 'POST',
      status: 429,
      retryAfterSeconds: 0,
      count: 2,
    });
    const path = `helpdesks/${failDesk.id}/tickets/${ticket.number}/replies`;
    const { replyId } = (await hostApi(host, 'POST', path, { text: 'Try a new battery.', author: AGENT }))
      .json as {
      replyId: string;
    };
    await host.drainQueues();
    const answer = await hostApi(host, 'GET', `${path}/${replyId}`);
    expect(answer.json).toMatchObject({ status: 'sent', attempts: 1, error: null });
  }, 60_000);

  it('sendMail failing on every attempt: failed with the reason, in the history, sent once by a retry', async () => {
    const ticket = await ticketFromKarin(failDesk, 'Keyboard sticky', 'Coffee.\n');
    const mailbox = failDesk.importer.mailboxes[0]?.userId ?? '';
    scenario.local.graph.injectFault({
      route: 'sendMail',
      method: 'POST',
      status: 503,
      count: MAX_SEND_ATTEMPTS,
    });
    const path = `helpdesks/${failDesk.id}/tickets/${ticket.number}/replies`;
    const { replyId } = (await hostApi(host, 'POST', path, { text: 'A new one is coming.', author: AGENT }))
      .json as { replyId: string };
    await host.drainQueues();
    const failed = await replyState(failDesk, ticket.number, replyId);
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatch(/failed on every one of 5 attempts.*(503|ServiceUnavailable|unavailable)/i);
    const { history: entries } = await history(failDesk, ticket.number);
    expect(entries.find((e) => e.event === 'agentReplyFailed')?.text).toContain(failed.error ?? '');
    const sentOf = async (messageId: string) =>
      (await sentMail(scenario, mailbox)).filter((s) => s.mail.messageId === messageId);
    expect(await sentOf(failed.messageId)).toHaveLength(0);

    expect((await hostApi(host, 'POST', `${path}/${replyId}/retry`)).status).toBe(202);
    await host.drainQueues();
    const retried = await replyState(failDesk, ticket.number, replyId);
    expect(retried).toMatchObject({ status: 'sent', error: null, messageId: failed.messageId });
    expect(await sentOf(failed.messageId)).toHaveLength(1);
    expect((await hostApi(host, 'POST', `${path}/${replyId}/retry`)).status).toBe(409);
  }, 90_000);

  it('a send that went out though its answer was lost, repeated at once: it waits until Sent Items can show the mail; one mail', async () => {
    const ticket = await ticketFromKarin(crashDesk, 'Scanner jams', 'Every page.\n');
    const reply = await postDyingBeforeQueue(crashDesk, ticket.number, 'Clean the rollers.');
    const messageId = reply.delivery.messageId;
    const job = {
      helpdeskId: crashDesk.id,
      ticketNumber: ticket.number,
      replyId: reply.id.replace(/^reply-/, ''),
      messageId: 'job-answer-lost',
    };
    // Graph saves the sent copy 2 s after its 202; the app waits 3 s before it trusts Sent Items.
    scenario.local.graph.setSentItemsDelay(2_000);
    try {
      // Graph took the mail, but no answer came back (the process died right after sendMail).
      const dying = crashingProcess(
        replyDeps,
        { atCall: (call) => (call === 'mailSource.sendMime' ? 'after' : null) },
        ['replies', 'replyJobs'],
      );
      await expect(sendReply(dying.deps, job, telemetry)).rejects.toThrow(SimulatedCrash);
      expect((await inKarinsInbox(messageId)).copies).toBe(1);
      // Redelivered at once, while Sent Items does not show the mail yet.
      expect(await copiesSent(crashDesk, messageId)).toBe(0);
      expect(await sendReply(replyDeps, job, telemetry)).toBe('waitingForSentItems');
      await host.drainQueues();
    } finally {
      scenario.local.graph.setSentItemsDelay(0);
    }
    expect(await replyState(crashDesk, ticket.number, job.replyId)).toMatchObject({ status: 'sent' });
    expect(await copiesSent(crashDesk, messageId)).toBe(1);
    expect((await inKarinsInbox(messageId)).copies).toBe(1);
    const waited = replyRecords.find((r) => r.replyId === job.replyId && r.outcome === 'waitingForSentItems');
    expect(String(waited?.reason)).toMatch(/looking into Sent Items in [1-3] s/);
    expect(
      hostReplyRecords()
        .filter((r) => r.replyId === job.replyId)
        .map((r) => r.outcome),
    ).toEqual(['alreadySent']);
  }, 60_000);
});

/** Telemetry records of the host's send functions, parsed from its log. */
function hostReplyRecords(): Array<Record<string, unknown>> {
  const marker = `${REPLY_RECORD_PREFIX} `;
  return hostLog
    .filter((line) => line.includes(marker))
    .map((line) => JSON.parse(line.slice(line.indexOf(marker) + marker.length)));
}

/** The reply posted by a process that dies after storing it, just before queuing its send job. */
async function postDyingBeforeQueue(
  helpdesk: Helpdesk,
  ticketNumber: number,
  text: string,
  idempotencyKey?: string,
): Promise<AgentReply> {
  const process = crashingProcess(
    replyDeps,
    { atCall: (call) => (call === 'replyJobs.enqueue' ? 'before' : null) },
    ['replies', 'replyJobs'],
  );
  await expect(
    postReply(process.deps, {
      helpdeskId: helpdesk.id,
      ticketNumber,
      request: { text, author: AGENT, images: [] },
      ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
    }),
  ).rejects.toThrow(SimulatedCrash);
  expect(process.diedAt()).toBe('before replyJobs.enqueue');
  const reply = (await history(helpdesk, ticketNumber)).supplements.find((s) => s.description === text);
  expect(reply?.delivery?.status).toBe('queued');
  return reply as AgentReply;
}

/** The same services, their clock just past the time after which a queued reply counts as lost. */
function minutesLater(): ReplyDependencies {
  return { ...replyDeps, clock: () => new Date(Date.now() + 6 * 60_000) };
}

async function copiesSent(helpdesk: Helpdesk, messageId: string): Promise<number> {
  const mailbox = helpdesk.importer.mailboxes[0]?.userId ?? '';
  return (await sentMail(scenario, mailbox)).filter((s) => s.mail.messageId === messageId).length;
}

describe('never stuck: a process that dies between storing a reply and queuing its send job', () => {
  it('POST …/retry queues it again once it is stale (409 before), and it is sent once', async () => {
    const ticket = await ticketFromKarin(crashDesk, 'Dock dead', 'No power.\n');
    const reply = await postDyingBeforeQueue(crashDesk, ticket.number, 'Try the other socket.');
    const replyId = reply.id.replace(/^reply-/, '');
    await host.drainQueues();
    expect((await replyState(crashDesk, ticket.number, replyId)).status).toBe('queued');
    const path = `helpdesks/${crashDesk.id}/tickets/${ticket.number}/replies/${replyId}/retry`;
    const early = await hostApi(host, 'POST', path);
    expect(early.status).toBe(409);
    expect((early.json as { error: { message: string } }).error.message).toContain('5 minutes');

    const input = { helpdeskId: crashDesk.id, ticketNumber: ticket.number, replyId };
    expect(await retryReply(minutesLater(), input)).toMatchObject({ status: 'queued', attempts: 0 });
    await host.drainQueues();
    const state = await replyState(crashDesk, ticket.number, replyId);
    expect(state.status).toBe('sent');
    expect(await copiesSent(crashDesk, state.messageId)).toBe(1);
    const events = (await history(crashDesk, ticket.number)).history.map((e) => e.event);
    expect(events.filter((e) => e === 'agentReplyQueued')).toHaveLength(2);
    expect(events.filter((e) => e === 'agentReplySent')).toHaveLength(1);
  }, 60_000);

  it('the sweep (timer requeueLostReplies) queues it again once it is stale, and it is sent once', async () => {
    const ticket = await ticketFromKarin(crashDesk, 'Headset silent', 'Nothing.\n');
    const reply = await postDyingBeforeQueue(crashDesk, ticket.number, 'Check the mute switch.');
    expect(await requeueLostReplies(replyDeps)).toBe(0);
    expect(await requeueLostReplies(minutesLater())).toBe(1);
    await host.drainQueues();
    const state = await replyState(crashDesk, ticket.number, reply.id.replace(/^reply-/, ''));
    expect(state.status).toBe('sent');
    expect(await copiesSent(crashDesk, state.messageId)).toBe(1);
    expect(await requeueLostReplies(minutesLater())).toBe(0);
  }, 60_000);

  it('two jobs for one reply: the second leaves it to the first, which holds its claim; one mail', async () => {
    const ticket = await ticketFromKarin(crashDesk, 'Webcam upside down', 'Weird.\n');
    const reply = await postDyingBeforeQueue(crashDesk, ticket.number, 'Turn it around.');
    const job = {
      helpdeskId: crashDesk.id,
      ticketNumber: ticket.number,
      replyId: reply.id.replace(/^reply-/, ''),
    };
    // The first job is slow to reach Graph: the second comes while the first may already be sending.
    const slow = crashingProcess(
      replyDeps,
      { stallBefore: (call) => (call === 'mailSource.sendMime' ? 1_500 : 0) },
      ['replies', 'replyJobs'],
    );
    const first = sendReply(slow.deps, { ...job, messageId: 'job-1' }, telemetry);
    await vi.waitFor(async () => {
      const stored = await replyDeps.replies.get(job.helpdeskId, job.ticketNumber, job.replyId);
      expect(stored?.reply.delivery.claim?.by).toBe('job-1');
    });
    expect(await sendReply(replyDeps, { ...job, messageId: 'job-2' }, telemetry)).toBe('inProgressElsewhere');
    expect(await first).toBe('sent');
    expect(await sendReply(replyDeps, { ...job, messageId: 'job-3' }, telemetry)).toBe('nothingToDo');
    expect(await copiesSent(crashDesk, reply.source.internetMessageId ?? '')).toBe(1);

    const records = replyRecords.filter((r) => r.replyId === job.replyId);
    expect(records.map((r) => r.outcome)).toEqual(['inProgressElsewhere', 'sent', 'nothingToDo']);
    expect(records[1]).toMatchObject({
      v: 1,
      helpdeskId: crashDesk.id,
      mailboxId: crashDesk.importer.mailboxes[0]?.id,
      ticketNumber: ticket.number,
      attempts: 1,
      round: 1,
      reason: null,
    });
    expect(records[1]?.durationMs).toBeGreaterThanOrEqual(1_500);
  }, 60_000);
});

describe('Idempotency-Key', () => {
  const request = { text: 'We will call you back.', author: AGENT };

  it('the same key for the same ticket answers the same reply: one supplement, one mail', async () => {
    const ticket = await ticketFromKarin(desk, 'Phone broken', 'Cracked.\n');
    const path = `helpdesks/${desk.id}/tickets/${ticket.number}/replies`;
    const headers = { 'Idempotency-Key': 'crm-comment-4711' };
    const first = await hostApi(host, 'POST', path, request, headers);
    expect(first.status).toBe(202);
    const { replyId } = first.json as { replyId: string };
    expect(replyId).toBe(replyIdForKey(desk.id, ticket.number, 'crm-comment-4711'));
    // The same request with its keys in another order is the same request.
    const again = await hostApi(host, 'POST', path, { author: AGENT, text: request.text }, headers);
    expect(again).toEqual({ status: 202, json: { replyId, status: 'queued' } });
    await host.drainQueues();
    const afterSending = await hostApi(host, 'POST', path, request, headers);
    expect(afterSending).toEqual({ status: 202, json: { replyId, status: 'sent' } });
    const replies = (await history(desk, ticket.number)).supplements.filter(
      (s) => s.supplementType === 'agentReply',
    );
    expect(replies).toHaveLength(1);
    const state = await replyState(desk, ticket.number, replyId);
    expect((await inKarinsInbox(state.messageId)).copies).toBe(1);

    const reused = await hostApi(host, 'POST', path, { ...request, text: 'Something else.' }, headers);
    expect(reused.status).toBe(409);
    expect((reused.json as { error: { field: string; message: string } }).error).toMatchObject({
      field: 'headers.idempotency-key',
      message: expect.stringContaining('another reply'),
    });
    // Another ticket, the same key: another reply.
    const other = await ticketFromKarin(desk, 'Phone charger', 'Lost.\n');
    const elsewhere = await hostApi(
      host,
      'POST',
      `helpdesks/${desk.id}/tickets/${other.number}/replies`,
      request,
      headers,
    );
    expect(elsewhere.status).toBe(202);
    expect((elsewhere.json as { replyId: string }).replyId).not.toBe(replyId);
  }, 60_000);

  it('refuses a key that is empty, too long or not printable, naming the header; nothing stored', async () => {
    const ticket = await ticketFromKarin(desk, 'Tablet slow', 'Very.\n');
    const path = `helpdesks/${desk.id}/tickets/${ticket.number}/replies`;
    for (const key of ['', '   ', 'x'.repeat(201), 'tab\there', 'ünïcode']) {
      const answer = await hostApi(host, 'POST', path, request, { 'Idempotency-Key': key });
      expect(answer.status, JSON.stringify(key)).toBe(400);
      expect((answer.json as { error: { field: string } }).error.field).toBe('headers.idempotency-key');
    }
    expect((await history(desk, ticket.number)).supplements).toEqual([]);
    expect((await hostApi(host, 'POST', path, request, { 'Idempotency-Key': 'x'.repeat(200) })).status).toBe(
      202,
    );
  }, 60_000);

  it('a post that died between storing and queuing: posted again with its key once stale, it is queued and sent once', async () => {
    const ticket = await ticketFromKarin(crashDesk, 'Printer offline', 'Gone.\n');
    const text = 'Restart the print spooler.';
    const reply = await postDyingBeforeQueue(crashDesk, ticket.number, text, 'crm-9');
    const replyId = replyIdForKey(crashDesk.id, ticket.number, 'crm-9');
    expect(reply.id).toBe(`reply-${replyId}`);
    const again = { helpdeskId: crashDesk.id, ticketNumber: ticket.number, idempotencyKey: 'crm-9' };
    const request = { text, author: AGENT, images: [] };
    // Soon after: the job may still be on its way, so nothing is queued twice.
    expect(await postReply(replyDeps, { ...again, request })).toEqual({ replyId, status: 'queued' });
    await host.drainQueues();
    expect((await replyState(crashDesk, ticket.number, replyId)).status).toBe('queued');
    expect(await postReply(minutesLater(), { ...again, request })).toEqual({ replyId, status: 'queued' });
    await host.drainQueues();
    const state = await replyState(crashDesk, ticket.number, replyId);
    expect(state.status).toBe('sent');
    expect(await copiesSent(crashDesk, state.messageId)).toBe(1);
  }, 60_000);
});

describe('reply telemetry (R23)', () => {
  it('one record per delivery of the send job: sent, retrying, failed, alreadySent, waitingForSentItems', () => {
    // The host's send functions, and this file's crashing one (whose redelivery found the mail sent).
    const records = [...hostReplyRecords(), ...replyRecords];
    const outcomes = new Set(records.map((r) => r.outcome));
    for (const outcome of ['sent', 'retrying', 'failed', 'alreadySent']) expect(outcomes).toContain(outcome);
    for (const record of records) {
      expect(Object.keys(record).sort()).toEqual(
        [
          'attempts',
          'durationMs',
          'helpdeskId',
          'mailboxId',
          'outcome',
          'reason',
          'replyId',
          'round',
          'ticketNumber',
          'v',
        ].sort(),
      );
    }
    const failed = records.find((r) => r.outcome === 'failed');
    expect(failed).toMatchObject({ helpdeskId: failDesk.id, attempts: MAX_SEND_ATTEMPTS });
    expect(String(failed?.reason)).toContain('failed on every one of');
    expect(records.filter((r) => r.outcome === 'retrying' && r.helpdeskId === failDesk.id)).toHaveLength(
      MAX_SEND_ATTEMPTS,
    );
    // Each failed attempt's redelivery came at once and waited for Sent Items rather than send again.
    expect(
      records.filter((r) => r.outcome === 'waitingForSentItems' && r.helpdeskId === failDesk.id),
    ).toHaveLength(MAX_SEND_ATTEMPTS);
  });
});
