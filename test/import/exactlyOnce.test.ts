import { setTimeout as sleep } from 'node:timers/promises';
import { BlobServiceClient } from '@azure/storage-blob';
import { QueueClient } from '@azure/storage-queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { importerSettingsFunction } from '../../functions/importerSettings.js';
import { importerStatusFunction } from '../../functions/importerStatus.js';
import { importMailboxFunction } from '../../functions/importMailbox.js';
import { importMailboxPoisonFunction } from '../../functions/importMailboxPoison.js';
import {
  keptAsideMessagesFunction,
  retryKeptAsideMessageFunction,
} from '../../functions/keptAsideMessages.js';
import { runChaos } from '../../local/chaos.js';
import { type CrashPlan, crashingProcess, SimulatedCrash } from '../../local/crashInjection.js';
import { type LocalHost, startLocalHost } from '../../local/host.js';
import { appServices } from '../../shared/app/services.js';
import type { Helpdesk } from '../../shared/helpdesk/settings.js';
import type { FunctionDefinition } from '../../shared/host/functionDefinition.js';
import type { ImportDependencies } from '../../shared/import/dependencies.js';
import { importMailbox, type MailboxRunResult, type RunOptions } from '../../shared/import/importMailbox.js';
import type { ImportStep } from '../../shared/import/importMessage.js';
import { type ListedMessage, retryKeptAside } from '../../shared/import/keptAside.js';
import { type MailRecord, mailboxKey, messageKey } from '../../shared/import/mailRecord.js';
import type { MailboxRef, TicketStore } from '../../shared/import/ports.js';
import type { MessageOutcomeRecord } from '../../shared/observability/telemetry.js';
import { testHelpdesk } from '../support/helpdeskFixtures.js';
import { hostApi } from '../support/hostApi.js';
import { type ImportScenario, seedHelpdesk, startImportScenario } from '../support/importScenario.js';
import { pngImage, rawMail } from '../support/mail.js';

/**
 * Exactly once (R13) and one bad message never blocks a mailbox (R14), under crashes at every step,
 * redeliveries, overlapping runs, throttling storms, poison mail and poison jobs.
 *
 * A crash is a process dying: `local/crashInjection.ts` wraps the app's adapters so that the process
 * dies at a checkpoint or around an adapter call, after which nothing of it runs on (no failure
 * bookkeeping, no status, no lease release). The job is then redelivered, as the host does.
 */

const KARIN = 'Karin Klant <karin@customer.example>';
const SEPARATOR = '==== vul boven deze regel uw reactie ====';
/** Short, so a redelivery after a crash does not wait long for the dead run's lease. */
const LEASE_TTL_MS = 300;
const quiet = { info: () => {}, warn: () => {}, error: () => {} };
const telemetry = { messageOutcome: () => {}, mailboxRun: () => {} };

let scenario: ImportScenario;
let deps: ImportDependencies;
let host: LocalHost;
const hostLog: string[] = [];
/** Where each crash job's first delivery died, by helpdesk. */
const diedAt = new Map<string, string | null>();

function runOptions(overrides: Partial<RunOptions> = {}): RunOptions {
  return {
    trigger: 'test',
    deadline: Date.now() + 60_000,
    telemetry,
    leaseTtlMs: LEASE_TTL_MS,
    ...overrides,
  };
}

/** Runs the mailbox until it gets the lease (a dead run's lease lapses first), as a redelivery would. */
async function redeliver(ref: MailboxRef): Promise<MailboxRunResult> {
  for (let attempt = 0; attempt < 40; attempt++) {
    const result = await importMailbox(deps, ref, runOptions());
    if (result.status !== 'busy') return result;
    await sleep(LEASE_TTL_MS / 4);
  }
  throw new Error(`mailbox ${ref.helpdeskId}/${ref.mailboxId} stayed busy`);
}

// ---------------------------------------------------------------------------------------------
// Crash points and their scenarios
// ---------------------------------------------------------------------------------------------

type Crash = { step: ImportStep } | { call: string; side: 'before' | 'after' };

const crashSchema = z.union([
  z.object({ step: z.custom<ImportStep>((value) => typeof value === 'string') }),
  z.object({ call: z.string(), side: z.enum(['before', 'after']) }),
]);

function crashPlan(crash: Crash): CrashPlan {
  let fired = false;
  const once = (hit: boolean) => {
    if (!hit || fired) return false;
    fired = true;
    return true;
  };
  if ('step' in crash) return { atStep: (step) => once(step === crash.step) };
  return { atCall: (call) => (once(call === crash.call) ? crash.side : null) };
}

function crashName(crash: Crash): string {
  return 'step' in crash ? `at ${crash.step}` : `${crash.side} ${crash.call}`;
}

type Kind = 'ticket' | 'supplement' | 'keptAside';

interface Scenario {
  name: string;
  kind: Kind;
  acknowledge: boolean;
  crashes: Crash[];
}

const ticketSteps: ImportStep[] = [
  'fetched',
  'parsed',
  'ticketNumberAllocated',
  'planned',
  'imagesStored',
  'ticketWritten',
  'historyWritten',
  'stored',
];
const supplementSteps: ImportStep[] = [
  'fetched',
  'parsed',
  'planned',
  'imagesStored',
  'supplementWritten',
  'historyWritten',
  'stored',
];
/** Around the acknowledgement: decided and counted, sent, and before the source is post-processed. */
const acknowledgementCrashes: Crash[] = [
  { step: 'acknowledged' },
  { call: 'helpdesks.recordAcknowledgement', side: 'after' },
  { call: 'mailSource.sendMime', side: 'before' },
  { call: 'mailSource.sendMime', side: 'after' },
];
const postProcessingCrashes: Crash[] = [
  { call: 'mailSource.applyOperations', side: 'before' },
  { call: 'mailSource.applyOperations', side: 'after' },
];

const scenarios: Scenario[] = [
  {
    name: 'new ticket',
    kind: 'ticket',
    acknowledge: false,
    crashes: [...ticketSteps.map((step) => ({ step })), ...postProcessingCrashes],
  },
  {
    name: 'supplement',
    kind: 'supplement',
    acknowledge: false,
    crashes: [...supplementSteps.map((step) => ({ step })), ...postProcessingCrashes],
  },
  {
    name: 'new ticket, acknowledged',
    kind: 'ticket',
    acknowledge: true,
    crashes: [...ticketSteps.map((step) => ({ step })), ...acknowledgementCrashes],
  },
  {
    name: 'supplement, acknowledged',
    kind: 'supplement',
    acknowledge: true,
    crashes: [...supplementSteps.map((step) => ({ step })), ...acknowledgementCrashes],
  },
  {
    name: 'oversized mail kept aside',
    kind: 'keptAside',
    acknowledge: false,
    crashes: [
      { step: 'fetched' },
      { call: 'rawMail.keepAside', side: 'before' },
      { call: 'rawMail.keepAside', side: 'after' },
      { call: 'records.create', side: 'after' },
      ...postProcessingCrashes,
    ],
  },
];

interface Case {
  scenario: Scenario;
  crash: Crash;
  userId: string;
  ref: MailboxRef;
  /** Raw MIME of the mail the crash hits. */
  raw: Buffer;
  key: string;
  /** Acknowledgements expected in Sent Items once all is done. */
  acknowledgements: number;
}

let cases = 0;

/** A helpdesk of its own per case; a supplement case first imports the mail it answers, cleanly. */
async function prepare(s: Scenario, crash: Crash): Promise<Case> {
  const id = `c${++cases}-${s.kind}`;
  const userId = `${id}@exactly.test`;
  const helpdesk = testHelpdesk(id, userId, {
    attachments: { maxMessageBytes: s.kind === 'keptAside' ? 10_000 : 1_000_000 },
    acknowledgement: {
      newTicket: { enabled: s.acknowledge },
      supplement: { enabled: s.acknowledge },
    },
  });
  await seedHelpdesk(scenario, helpdesk);
  const ref = { helpdeskId: id, mailboxId: 'main' };
  const { graph } = scenario.local;
  let acknowledgements = s.acknowledge ? 1 : 0;
  if (s.kind === 'supplement') {
    graph.deliver(userId, await requestMail(id, userId), { receivedDateTime: '2026-11-23T08:00:00Z' });
    expect((await importMailbox(deps, ref, runOptions())).created).toEqual([1]);
    if (s.acknowledge) acknowledgements++;
  }
  const messageId = `<${s.kind}-${id}@customer.example>`;
  const raw =
    s.kind === 'supplement'
      ? await rawMail({
          from: KARIN,
          to: userId,
          subject: 'RE: [#1] Printer broken',
          text: `Still broken, photo attached.\n\n${SEPARATOR}\n\nWe registered ticket 1.\n`,
          messageId,
          inReplyTo: `<request-${id}@customer.example>`,
          references: [`<request-${id}@customer.example>`],
          attachments: [{ filename: 'photo.png', content: pngImage(3), contentType: 'image/png' }],
        })
      : s.kind === 'ticket'
        ? await requestMail(id, userId, messageId)
        : await rawMail({
            from: KARIN,
            to: userId,
            subject: 'Full log',
            text: 'log line\n'.repeat(4000),
            messageId,
          });
  graph.deliver(userId, raw, { receivedDateTime: '2026-11-23T09:00:00Z' });
  return {
    scenario: s,
    crash,
    userId,
    ref,
    raw,
    key: messageKey(messageId),
    acknowledgements: s.kind === 'keptAside' ? 0 : acknowledgements,
  };
}

function requestMail(id: string, userId: string, messageId = `<request-${id}@customer.example>`) {
  return rawMail({
    from: KARIN,
    to: userId,
    subject: 'Printer broken',
    text: 'The printer on floor 2 does not print.\n',
    html: '<p>The printer on floor 2 does not print.</p><p><img src="cid:logo@customer.example"></p>',
    messageId,
    attachments: [
      { filename: 'screenshot.png', content: pngImage(1), contentType: 'image/png' },
      { content: pngImage(2), contentType: 'image/png', cid: 'logo@customer.example' },
    ],
  });
}

async function record(ref: MailboxRef, key: string): Promise<MailRecord | undefined> {
  return (await deps.records.get(mailboxKey(ref.helpdeskId, ref.mailboxId), key))?.record;
}

async function blob(container: string, name: string): Promise<Buffer> {
  return BlobServiceClient.fromConnectionString(scenario.env.AzureWebJobsStorage ?? '')
    .getContainerClient(container)
    .getBlobClient(name)
    .downloadToBuffer();
}

/** One complete ticket or supplement for the mail, images stored, source post-processed, acks at most once. */
async function expectExactlyOnce(c: Case): Promise<void> {
  const { graph } = scenario.local;
  const { helpdeskId } = c.ref;
  const source = graph.messages(c.userId, 'inbox').filter((m) => m.internetMessageId !== null);
  const stored = await record(c.ref, c.key);
  if (c.scenario.kind === 'keptAside') {
    expect(await deps.tickets.listTickets(helpdeskId)).toEqual([]);
    expect(stored).toMatchObject({ state: 'keptAside', attempts: 1 });
    expect(await blob(scenario.env.KEPT_ASIDE_CONTAINER ?? '', stored?.keptAside?.blobName ?? '')).toEqual(
      c.raw,
    );
    expect(source).toEqual([expect.objectContaining({ isRead: false, categories: ['Import failed'] })]);
    return;
  }
  const tickets = await deps.tickets.listTickets(helpdeskId);
  // A crash after a number was allocated costs that number, never a mail: one ticket either way.
  expect(tickets).toHaveLength(1);
  const everything = await deps.tickets.ticketWithEverything(helpdeskId, tickets[0]?.number ?? 0);
  const events = everything?.history.map((entry) => entry.event).sort();
  const acknowledged = Array.from({ length: c.acknowledgements }, () => 'acknowledgementSent');
  if (c.scenario.kind === 'ticket') {
    expect(everything?.ticket.source.messageKey).toBe(c.key);
    expect(everything?.supplements).toEqual([]);
    expect(events).toEqual([...acknowledged, 'createdByMailImport']);
    const images = everything?.ticket.images ?? [];
    expect(images).toHaveLength(2);
    for (const [index, image] of [...images]
      .sort((a, b) => (a.contentId ? 1 : 0) - (b.contentId ? 1 : 0))
      .entries()) {
      expect(await blob(scenario.env.IMAGES_CONTAINER ?? '', image.blobName)).toEqual(pngImage(index + 1));
    }
  } else {
    expect(everything?.supplements.map((s) => s.id)).toEqual([`supplement-${c.key}`]);
    expect(events).toEqual([...acknowledged, 'createdByMailImport', 'supplementedByMailImport']);
    const images = everything?.supplements[0]?.images ?? [];
    expect(images).toHaveLength(1);
    expect(await blob(scenario.env.IMAGES_CONTAINER ?? '', images[0]?.blobName ?? '')).toEqual(pngImage(3));
  }
  expect(stored?.state).toBe('stored');
  expect(source.every((m) => m.isRead)).toBe(true);
  const sent = graph.messages(c.userId, 'sentitems');
  expect(new Set(sent.map((m) => m.internetMessageId)).size).toBe(sent.length);
  expect(sent).toHaveLength(c.acknowledgements);
  if (c.scenario.acknowledge) expect(stored?.acknowledgement?.state).toBe('sent');
}

// ---------------------------------------------------------------------------------------------
// The local host: a queue function whose first delivery of a job runs in a process that crashes
// ---------------------------------------------------------------------------------------------

const crashJobSchema = z.object({ helpdeskId: z.string(), mailboxId: z.string(), crash: crashSchema });

const crashingImport: FunctionDefinition = {
  trigger: 'queue',
  name: 'crashingImport',
  queueName: '%CRASH_QUEUE%',
  connection: 'AzureWebJobsStorage',
  handler: async (message, context) => {
    const job = crashJobSchema.parse(message);
    const first = Number(context.triggerMetadata?.dequeueCount ?? 1) === 1;
    const process = crashingProcess(deps, first ? crashPlan(job.crash) : {});
    try {
      await importMailbox(process.deps, job, runOptions());
    } finally {
      if (first) diedAt.set(job.helpdeskId, process.diedAt());
    }
  },
};

beforeAll(async () => {
  scenario = await startImportScenario();
  deps = appServices().dependencies(quiet);
  host = await startLocalHost({
    functions: [
      crashingImport,
      importMailboxFunction,
      importMailboxPoisonFunction,
      keptAsideMessagesFunction,
      retryKeptAsideMessageFunction,
      importerSettingsFunction,
      importerStatusFunction,
    ],
    env: { ...scenario.env, CRASH_QUEUE: `${scenario.env.IMPORT_QUEUE_NAME}-crash` },
    hostJson: {
      version: '2.0',
      extensions: {
        queues: {
          maxPollingInterval: '00:00:00.2',
          visibilityTimeout: '00:00:01',
          batchSize: 16,
          maxDequeueCount: 3,
          messageEncoding: 'base64',
        },
      },
    },
    httpPort: 0,
    log: (line) => hostLog.push(line),
  });
});

afterAll(async () => {
  await host?.stop();
  await scenario?.local.close();
});

function api(method: string, path: string, body?: unknown) {
  return hostApi(host, method, path, body);
}

// ---------------------------------------------------------------------------------------------
// Crash at every step, redelivered
// ---------------------------------------------------------------------------------------------

describe.each(scenarios.filter((s) => !s.acknowledge))('crash, then the use case runs again: $name', (s) => {
  // Each case has a helpdesk and mailbox of its own, so they run side by side.
  it.concurrent.each(s.crashes.map((crash) => ({ crash, name: crashName(crash) })))(
    'dies $name, the redelivery completes it exactly once',
    async ({ crash }) => {
      const c = await prepare(s, crash);
      const process = crashingProcess(deps, crashPlan(crash));
      await expect(importMailbox(process.deps, c.ref, runOptions())).rejects.toThrow(SimulatedCrash);
      expect(process.diedAt()).toBe(crashName(crash));
      const again = await redeliver(c.ref);
      expect(again.status).toBe('done');
      await expectExactlyOnce(c);
      // And once more changes nothing.
      await redeliver(c.ref);
      await expectExactlyOnce(c);
    },
  );
});

describe('crash, then the local host redelivers the job', () => {
  const hosted: Case[] = [];

  beforeAll(async () => {
    for (const s of scenarios.filter((candidate) => candidate.acknowledge)) {
      for (const crash of s.crashes) hosted.push(await prepare(s, crash));
    }
    const queue = new QueueClient(
      scenario.env.AzureWebJobsStorage ?? '',
      `${scenario.env.IMPORT_QUEUE_NAME}-crash`,
    );
    for (const c of hosted) {
      const job = { ...c.ref, crash: c.crash };
      await queue.sendMessage(Buffer.from(JSON.stringify(job)).toString('base64'));
    }
    await host.drainQueues();
  }, 120_000);

  const named = (s: Scenario, crash: Crash) => `${s.name}: dies ${crashName(crash)}`;
  it.each(
    scenarios
      .filter((s) => s.acknowledge)
      .flatMap((s) => s.crashes.map((crash) => ({ name: named(s, crash) }))),
  )('$name; the redelivery completes it, at most one acknowledgement', async ({ name }) => {
    const c = hosted.find((candidate) => named(candidate.scenario, candidate.crash) === name);
    if (!c) throw new Error(`no case ${name}`);
    expect(diedAt.get(c.ref.helpdeskId)).toBe(crashName(c.crash));
    await expectExactlyOnce(c);
  });
});

// ---------------------------------------------------------------------------------------------
// Overlapping runs
// ---------------------------------------------------------------------------------------------

/** A fresh helpdesk with `count` plain requests in its mailbox. */
async function mailbox(
  id: string,
  count: number,
  importer: Record<string, unknown> = {},
): Promise<{ helpdesk: Helpdesk; userId: string; ref: MailboxRef; raws: Buffer[] }> {
  const userId = `${id}@exactly.test`;
  const helpdesk = testHelpdesk(id, userId, importer);
  await seedHelpdesk(scenario, helpdesk);
  const raws: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const raw = await rawMail({
      from: KARIN,
      to: userId,
      subject: `Request ${i}`,
      text: `Mail ${i}`,
      messageId: `<${id}-${i}@customer.example>`,
    });
    raws.push(raw);
    scenario.local.graph.deliver(userId, raw, {
      receivedDateTime: new Date(Date.parse('2026-11-23T08:00:00Z') + i * 60_000).toISOString(),
    });
  }
  return { helpdesk, userId, ref: { helpdeskId: id, mailboxId: 'main' }, raws };
}

/** Every mail exactly one ticket, in order, and every source marked read. */
async function expectAllImported(id: string, userId: string, count: number): Promise<void> {
  const tickets = await deps.tickets.listTickets(id);
  expect(tickets.map((t) => t.source.messageKey).sort()).toEqual(
    Array.from({ length: count }, (_, i) => messageKey(`<${id}-${i}@customer.example>`)).sort(),
  );
  const sources = scenario.local.graph.messages(userId, 'inbox');
  expect(sources.filter((m) => !m.isRead).map((m) => m.subject)).toEqual([]);
}

describe('overlapping runs of one mailbox', () => {
  it('two runs at once (timer and HTTP): one imports, the other finds the mailbox busy', async () => {
    const { userId, ref } = await mailbox('overlap-busy', 10);
    const results = await Promise.all([
      importMailbox(deps, ref, runOptions()),
      importMailbox(deps, ref, runOptions()),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual(['busy', 'done']);
    await expectAllImported('overlap-busy', userId, 10);
  });

  it('a run that stalls until its lease lapses stops when it notices; the run that took over finishes, exactly once', async () => {
    const { userId, ref } = await mailbox('overlap-lapse', 30);
    // Its renewals and some writes hang for three lease lifetimes, like a process frozen mid-run.
    // Its second group's records wait until the run that took over has completed them.
    let writes = 0;
    let groups = 0;
    const stalled = crashingProcess(deps, {
      stallBefore: (call) =>
        call === 'lease.renew' ||
        (call === 'records.replace' && ++writes % 4 === 0) ||
        (call === 'records.replaceGroup' && ++groups === 2)
          ? 3 * LEASE_TTL_MS
          : 0,
    });
    const first = importMailbox(stalled.deps, ref, runOptions());
    await sleep(LEASE_TTL_MS / 2);
    const second = await redeliver(ref);
    const stalledResult = await first;
    expect(second.status).toBe('done');
    expect(stalledResult.status).toBe('incomplete');
    // Both imported part of the mailbox, and never the same mail twice.
    expect(stalledResult.counts.created).toBeGreaterThan(0);
    expect(second.counts.created).toBeGreaterThan(0);
    expect(second.counts.created + stalledResult.counts.created).toBe(30);
    await expectAllImported('overlap-lapse', userId, 30);
    const records = await deps.records.withState('overlap-lapse', ['main'], 'keptAside');
    expect(records).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// Throttling and the time budget
// ---------------------------------------------------------------------------------------------

describe('Graph throttling', () => {
  it('a storm of 429, 503 and 504 on list, $value and $batch: retried after Retry-After, exactly once, at most 4 requests at a time', async () => {
    const { graph } = scenario.local;
    const { userId, ref } = await mailbox('storm', 25);
    graph.resetCounters();
    graph.setLatency(20);
    const listing = 'GET /users/{id}/mailFolders/{folder}/messages';
    graph.injectFault({ route: listing, status: 429, retryAfterSeconds: 1, count: 1 });
    graph.injectFault({ route: '$value', status: 429, retryAfterSeconds: 1, count: 2 });
    graph.injectFault({ route: '$value', status: 503, retryAfterSeconds: 1, count: 1 });
    graph.injectFault({ route: '$batch', status: 504, retryAfterSeconds: 1, count: 1, inBatch: false });
    graph.injectFault({
      route: 'PATCH /users/{id}/messages/{id}',
      status: 429,
      retryAfterSeconds: 1,
      count: 8,
      inBatch: true,
    });
    const started = Date.now();
    // Meanwhile other requests for the same mailbox pile up: the adapter still sends at most 4 at once.
    const [result] = await Promise.all([
      importMailbox(deps, ref, runOptions()),
      Promise.all(
        Array.from({ length: 12 }, () => deps.mailSource.sentMessageExists(userId, '<nothing@example>')),
      ),
    ]);
    const elapsed = Date.now() - started;
    graph.setLatency(0);
    expect(result).toMatchObject({ status: 'done', counts: { created: 25, failed: 0 } });
    // Five waits of one second each, one after the other: list, $value three times, the $batch call;
    // the throttled requests inside a $batch wait once together.
    expect(elapsed).toBeGreaterThanOrEqual(5_000);
    const counters = graph.counters();
    expect(counters[listing]).toBe(2 + 12);
    expect(counters['GET /users/{id}/messages/{id}/$value']).toBe(25 + 3);
    expect(counters['batched:PATCH /users/{id}/messages/{id}']).toBe(25 + 8);
    expect(graph.peakConcurrency(userId)).toBeLessThanOrEqual(4);
    await expectAllImported('storm', userId, 25);
  });

  it('a Retry-After longer than the time budget left: the run stops cleanly at the deadline and the next run imports the rest', async () => {
    const { graph } = scenario.local;
    const { userId, ref } = await mailbox('budget', 6);
    graph.injectFault({ route: '$value', status: 429, retryAfterSeconds: 30, count: 1 });
    const started = Date.now();
    const stopped = await importMailbox(deps, ref, runOptions({ deadline: Date.now() + 1_500 }));
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(stopped).toMatchObject({ status: 'incomplete', counts: { created: 0, failed: 0, keptAside: 0 } });
    // Stopping is no failure of the mail: nothing recorded against it.
    expect(await record(ref, messageKey('<budget-0@customer.example>'))).toBeUndefined();
    expect(await deps.helpdesks.mailboxStatus('budget', 'main')).toMatchObject({
      lastRunComplete: false,
      lastError: null,
    });
    expect(await importMailbox(deps, ref, runOptions())).toMatchObject({
      status: 'done',
      counts: { created: 6 },
    });
    await expectAllImported('budget', userId, 6);
  });
});

// ---------------------------------------------------------------------------------------------
// Poison mail and poison jobs
// ---------------------------------------------------------------------------------------------

/** The app's deps, but with ticket writes rejected for mail whose subject matches (a Cosmos 413, say). */
function rejecting(method: 'createTicket' | 'putHistory', subject: RegExp): ImportDependencies {
  const tickets: TicketStore = Object.create(deps.tickets);
  // A write too large fails its batch as a whole, which the store reports as not written together.
  tickets.createWithHistory = async (document, history) => {
    const ticket =
      document.docType === 'ticket'
        ? document
        : await deps.tickets.getTicket(history.helpdeskId, history.ticketNumber);
    if (ticket && subject.test(ticket.title)) return false;
    return deps.tickets.createWithHistory(document, history);
  };
  if (method === 'createTicket') {
    tickets.createTicket = async (ticket) => {
      if (subject.test(ticket.title)) throw new Error('Request size is too large');
      return deps.tickets.createTicket(ticket);
    };
  } else {
    tickets.putHistory = async (entry) => {
      const ticket = await deps.tickets.getTicket(entry.helpdeskId, entry.ticketNumber);
      if (ticket && subject.test(ticket.title)) throw new Error('Request size is too large');
      return deps.tickets.putHistory(entry);
    };
  }
  return { ...deps, tickets };
}

describe('poison mail', () => {
  it('a mail that cannot be written is retried maxAttempts runs, then kept aside (raw copy, category, unread); an oversized one at once; both listed by the API and imported after a fix through the API', async () => {
    const { graph } = scenario.local;
    const id = 'poison-mail';
    const userId = `${id}@exactly.test`;
    await seedHelpdesk(scenario, testHelpdesk(id, userId, { attachments: { maxMessageBytes: 10_000 } }));
    const ref = { helpdeskId: id, mailboxId: 'main' };
    const mails = [
      { subject: 'Printer broken', text: 'It does not print.' },
      { subject: 'Laptop slow', text: 'Very slow.' },
      { subject: 'POISON huge table', text: 'A table too large to store.' },
      { subject: 'Full log', text: 'log line\n'.repeat(3000) },
      { subject: 'Mouse gone', text: 'Where is my mouse?' },
      { subject: 'VPN down', text: 'No VPN.' },
    ];
    const raws: Buffer[] = [];
    for (const [i, mail] of mails.entries()) {
      const raw = await rawMail({
        from: KARIN,
        to: userId,
        ...mail,
        messageId: `<${id}-${i}@customer.example>`,
      });
      raws.push(raw);
      graph.deliver(userId, raw, { receivedDateTime: `2026-11-23T0${i}:00:00Z` });
    }
    const poison = messageKey(`<${id}-2@customer.example>`);
    const oversized = messageKey(`<${id}-3@customer.example>`);
    const broken = rejecting('createTicket', /POISON/);
    const source = (subject: string) => graph.messages(userId, 'inbox').find((m) => m.subject === subject);

    const first = await importMailbox(broken, ref, runOptions());
    expect(first.counts).toMatchObject({ created: 4, failed: 1, keptAside: 1 });
    // Left as it was for the next run: unread, untouched.
    expect(source('POISON huge table')).toMatchObject({ isRead: false, categories: [] });
    expect(source('Full log')).toMatchObject({ isRead: false, categories: ['Import failed'] });
    expect(await record(ref, oversized)).toMatchObject({ state: 'keptAside', attempts: 1 });

    expect((await importMailbox(broken, ref, runOptions())).counts).toMatchObject({
      failed: 1,
      keptAside: 0,
    });
    expect(await record(ref, poison)).toMatchObject({ state: 'planned', attempts: 2 });
    expect((await importMailbox(broken, ref, runOptions())).counts).toMatchObject({
      failed: 0,
      keptAside: 1,
    });
    const keptAside = await record(ref, poison);
    expect(keptAside).toMatchObject({ state: 'keptAside', attempts: 3 });
    expect(keptAside?.keptAside?.reason).toContain('Request size is too large');
    expect(await blob(scenario.env.KEPT_ASIDE_CONTAINER ?? '', keptAside?.keptAside?.blobName ?? '')).toEqual(
      raws[2],
    );
    expect(source('POISON huge table')).toMatchObject({ isRead: false, categories: ['Import failed'] });
    // A fourth run leaves both alone.
    expect((await importMailbox(broken, ref, runOptions())).counts).toMatchObject({
      created: 0,
      failed: 0,
      keptAside: 0,
    });

    const listed = await api('GET', `helpdesks/${id}/messages`);
    expect(listed.status).toBe(200);
    const messages = (listed.json as { messages: ListedMessage[] }).messages;
    // Newest first.
    expect(messages.map((m) => [m.key, m.attempts])).toEqual([
      [oversized, 1],
      [poison, 3],
    ]);
    expect(messages[0]?.reason).toContain('maxMessageBytes');

    // The fix: the write no longer rejected (the real adapters from here on), and a larger limit.
    const settings = await api('GET', `helpdesks/${id}/importer`);
    const importer = settings.json as Helpdesk['importer'];
    expect(
      (
        await api('PUT', `helpdesks/${id}/importer`, {
          ...importer,
          attachments: { ...importer.attachments, maxMessageBytes: 1_000_000 },
        })
      ).status,
    ).toBe(200);
    for (const key of [poison, oversized]) {
      expect((await api('POST', `helpdesks/${id}/messages/${key}/retry`)).status).toBe(202);
    }
    await host.drainQueues();

    const tickets = await deps.tickets.listTickets(id);
    expect(tickets.map((t) => [t.number, t.title])).toEqual([
      [1, 'Printer broken'],
      [2, 'Laptop slow'],
      // The number planned for it before it was kept aside: retried, the plan is completed.
      [3, 'POISON huge table'],
      [4, 'Mouse gone'],
      [5, 'VPN down'],
      [6, 'Full log'],
    ]);
    expect(graph.messages(userId, 'inbox').every((m) => m.isRead)).toBe(true);
    expect(((await api('GET', `helpdesks/${id}/messages`)).json as { messages: unknown[] }).messages).toEqual(
      [],
    );
  });

  it('defect: a write rejected after the ticket was written does not turn the stored import into a failure', async () => {
    const { userId, ref } = await mailbox('half-written', 4);
    const broken = rejecting('putHistory', /Request 1$/);
    const run = await importMailbox(broken, ref, runOptions());
    expect(run).toMatchObject({ status: 'done', counts: { created: 4, failed: 0, keptAside: 0 } });
    const key = messageKey('<half-written-1@customer.example>');
    // Imported, and what failed after the ticket was written is on its record, not counted as an attempt.
    const half = await record(ref, key);
    expect(half).toMatchObject({ state: 'stored', attempts: 0 });
    expect(half?.lastError).toContain('no history entry written');
    expect(run.problems).toEqual([]);
    await expectAllImported('half-written', userId, 4);
    // Later runs leave it alone: one ticket, never retried or kept aside.
    expect((await importMailbox(deps, ref, runOptions())).counts).toMatchObject({ created: 0, failed: 0 });
    expect(await deps.tickets.listTickets('half-written')).toHaveLength(4);
  });

  it('defect: a record that cannot be marked stored after the ticket was written never counts an attempt nor keeps the mail aside', async () => {
    const { userId, ref } = await mailbox('record-down', 2);
    const key = messageKey('<record-down-1@customer.example>');
    const records = Object.create(deps.records) as typeof deps.records;
    records.replace = async (changed, etag) => {
      if (changed.id === key && changed.state === 'stored') throw new Error('Service unavailable');
      return deps.records.replace(changed, etag);
    };
    records.replaceGroup = async (entries) => {
      if (entries.some(({ record }) => record.id === key)) throw new Error('Service unavailable');
      return deps.records.replaceGroup(entries);
    };
    const broken = { ...deps, records };
    for (let run = 0; run < 4; run++) {
      const result = await importMailbox(broken, ref, runOptions());
      expect(result.counts).toMatchObject({ failed: 1, keptAside: 0 });
      expect(await record(ref, key)).toMatchObject({ state: 'planned', attempts: 0 });
    }
    expect(await importMailbox(deps, ref, runOptions())).toMatchObject({
      status: 'done',
      counts: { created: 1, failed: 0 },
    });
    await expectAllImported('record-down', userId, 2);
    const ticket = (await deps.tickets.listTickets('record-down')).find((t) => t.source.messageKey === key);
    const everything = await deps.tickets.ticketWithEverything('record-down', ticket?.number ?? 0);
    expect(everything?.history.map((h) => h.event)).toEqual(['createdByMailImport']);
  });

  it('a mail listed as new whose record exists (a failed attempt, its run recorded no end) is imported by its record, without losing a ticket number', async () => {
    const { userId, ref } = await mailbox('seen-unhinted', 3);
    const key = messageKey('<seen-unhinted-1@customer.example>');
    // The second number cannot be had: that mail fails before its plan, and its record says so.
    const helpdesks = Object.create(deps.helpdesks) as typeof deps.helpdesks;
    let allocations = 0;
    helpdesks.allocateTicketNumber = async (helpdeskId) => {
      if (++allocations === 2) throw new Error('Service unavailable');
      return deps.helpdesks.allocateTicketNumber(helpdeskId);
    };
    const first = await importMailbox({ ...deps, helpdesks }, ref, runOptions());
    expect(first).toMatchObject({ counts: { created: 2, failed: 1 }, created: [1, 2] });
    expect(await record(ref, key)).toMatchObject({ state: 'pending', attempts: 1, plan: null });
    // As if that run had died before recording its end: nothing tells the next run the mail was seen.
    const status = await deps.helpdesks.mailboxStatus(ref.helpdeskId, ref.mailboxId);
    await deps.helpdesks.saveMailboxStatus({ ...status, lastRunAt: null });

    const second = await importMailbox(deps, ref, runOptions());
    expect(second).toMatchObject({ status: 'done', counts: { created: 1, failed: 0 }, created: [3] });
    expect(await record(ref, key)).toMatchObject({ state: 'stored', attempts: 1, plan: { ticketNumber: 3 } });
    await expectAllImported('seen-unhinted', userId, 3);
  });

  it('a run that takes the mailbox over from a run that died reads records first: the crash costs no ticket number', async () => {
    const { userId, ref } = await mailbox('taken-over', 2);
    const dying = crashingProcess(deps, { atStep: (step) => step === 'planned' });
    await expect(importMailbox(dying.deps, ref, runOptions())).rejects.toThrow(SimulatedCrash);
    expect(await record(ref, messageKey('<taken-over-0@customer.example>'))).toMatchObject({
      state: 'planned',
      plan: { ticketNumber: 1 },
    });
    // The redelivery takes the lapsed lease over: its hint says every mail may have been seen.
    const redelivered = await redeliver(ref);
    expect(redelivered).toMatchObject({ status: 'done', created: [1, 2] });
    await expectAllImported('taken-over', userId, 2);
  });

  it('defect: a mail still kept aside writes its per-message telemetry record on every later run', async () => {
    const { ref } = await mailbox('still-aside', 2, { attachments: { maxMessageBytes: 10_000 } });
    const { graph } = scenario.local;
    graph.deliver(
      'still-aside@exactly.test',
      await rawMail({
        from: KARIN,
        to: 'still-aside@exactly.test',
        subject: 'Huge',
        text: 'log line\n'.repeat(3000),
        messageId: '<still-aside-huge@customer.example>',
      }),
      { receivedDateTime: '2026-11-23T09:00:00Z' },
    );
    const records: MessageOutcomeRecord[] = [];
    const capturing = { messageOutcome: (r: MessageOutcomeRecord) => records.push(r), mailboxRun: () => {} };
    expect((await importMailbox(deps, ref, runOptions({ telemetry: capturing }))).counts).toMatchObject({
      created: 2,
      keptAside: 1,
    });
    records.length = 0;
    await importMailbox(deps, ref, runOptions({ telemetry: capturing }));
    expect(records).toEqual([
      expect.objectContaining({
        helpdeskId: 'still-aside',
        messageKey: messageKey('<still-aside-huge@customer.example>'),
        outcome: 'stillKeptAside',
        reason: expect.stringContaining('maxMessageBytes'),
      }),
    ]);
  });

  it('"since last scan": a failed mail is listed again until it is imported or kept aside, and a retried one too', async () => {
    const { graph } = scenario.local;
    const id = 'since-scan';
    const userId = `${id}@exactly.test`;
    await seedHelpdesk(
      scenario,
      testHelpdesk(id, userId, { mailboxes: [{ id: 'main', userId, scan: 'sinceLastScan' }] }),
    );
    const ref = { helpdeskId: id, mailboxId: 'main' };
    const received = new Date(Date.now() - 3_600_000).toISOString();
    graph.deliver(
      userId,
      await rawMail({
        from: KARIN,
        to: userId,
        subject: 'POISON',
        text: 'x',
        messageId: `<${id}@customer.example>`,
      }),
      { receivedDateTime: received },
    );
    const key = messageKey(`<${id}@customer.example>`);
    const broken = rejecting('createTicket', /POISON/);
    for (let run = 1; run <= 3; run++) {
      await importMailbox(broken, ref, runOptions());
      expect((await record(ref, key))?.attempts).toBe(run);
    }
    expect((await record(ref, key))?.state).toBe('keptAside');
    await retryKeptAside(deps, { helpdeskId: id, key });
    expect((await importMailbox(deps, ref, runOptions())).created).toEqual([1]);
    expect((await record(ref, key))?.state).toBe('stored');
  });

  it('a job that fails on every delivery lands on the poison queue; the poison function records it on the mailbox status', async () => {
    const id = 'poison-job';
    // A mailbox Graph does not know: every delivery of its job fails.
    await deps.helpdesks.put(testHelpdesk(id, 'nobody@nowhere.test'));
    await appServices().jobQueue.enqueue([
      { helpdeskId: id, mailboxId: 'main', reason: 'timer', enqueuedAt: new Date().toISOString() },
    ]);
    await host.drainQueues();
    const attempts = hostLog.filter((line) => line.startsWith('importMailbox: failed'));
    expect(attempts.some((line) => line.includes('attempt 3/3') && line.includes('-poison'))).toBe(true);
    const status = await api('GET', `helpdesks/${id}/importer/status`);
    expect(status.status).toBe(200);
    expect((status.json as { mailboxes: Array<Record<string, unknown>> }).mailboxes[0]).toMatchObject({
      mailboxId: 'main',
      lastRunComplete: false,
      lastError: { message: expect.stringContaining('poison queue') },
    });
  });
});

// ---------------------------------------------------------------------------------------------
// The randomized run
// ---------------------------------------------------------------------------------------------

describe('randomized: crashes anywhere, duplicate deliveries, overlapping runs', () => {
  it('imports 150 mails with zero duplicates and zero losses', async () => {
    const report = await runChaos({
      mails: 150,
      seed: 20_261_123,
      env: scenario.env,
      graph: scenario.local.graph,
      log: (line) => console.log(line),
    });
    expect(report.problems).toEqual([]);
    expect(report).toMatchObject({
      mails: 150,
      duplicates: 0,
      lost: 0,
      keptAside: report.malformed,
      unprocessedSources: 0,
      duplicateAcknowledgements: 0,
    });
    const crashes = report.crashes.checkpoint + report.crashes.beforeCall + report.crashes.afterCall;
    expect(crashes).toBeGreaterThan(10);
    expect(report.duplicateDeliveries).toBeGreaterThan(0);
    expect(report.overlappingRuns).toBeGreaterThan(0);
  }, 120_000);
});
