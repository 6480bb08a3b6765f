/**
 * `npm run chaos -- --mails N --seed S`: exactly once (R13, R14) under fire, on the local stack.
 *
 * A mailbox of N mails — new requests, replies, images, auto-replies, and a few malformed on purpose —
 * is imported by jobs whose processes die at random points: at the import's checkpoints, and just before
 * or just after calls of the Cosmos DB, Blob and Graph adapters. A job that dies is redelivered, as the
 * Functions host does; jobs are also delivered twice, run side by side, and stall so that their lease
 * lapses mid-run while another run takes the mailbox over. Mail arrives in waves in between. Then every
 * mail is checked: exactly one complete ticket or supplement (history and images stored), its source
 * post-processed, at most one acknowledgement sent; only the malformed mails kept aside.
 *
 * The last line reads `chaos: N mails, D duplicates, L lost, K kept aside`. A seed replays the same
 * mail and the same crash decisions; which runs overlap depends on timing.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import { createServices } from '../shared/app/services.js';
import { readEnvironment } from '../shared/config/environment.js';
import { blobServiceClient } from '../shared/config/storage.js';
import { connectCosmos } from '../shared/cosmos/cosmosClient.js';
import { helpdeskSchema } from '../shared/helpdesk/settings.js';
import type { ImportDependencies } from '../shared/import/dependencies.js';
import { importMailbox, type MailboxRunResult } from '../shared/import/importMailbox.js';
import { type MailRecord, mailboxKey, messageKey } from '../shared/import/mailRecord.js';
import type { HelpdeskStore, MailboxRef } from '../shared/import/ports.js';
import type { ImportTelemetry } from '../shared/observability/telemetry.js';
import type { HistoryEntry, Supplement, Ticket } from '../shared/tickets/model.js';
import { pngOfSize, random } from './bench/corpus.js';
import { type CrashingProcess, crashingProcess } from './crashInjection.js';
import { exitWhenWritten } from './exit.js';
import type { GraphEmulator } from './graph-emulator/index.js';
import { provisionLocalResources } from './provision.js';
import { startLocalStack } from './stack.js';

export interface ChaosOptions {
  mails: number;
  seed: number;
  /** App settings of the local stack, Graph emulator included. */
  env: Record<string, string>;
  graph: GraphEmulator;
  log?: (line: string) => void;
}

export interface ChaosReport {
  mails: number;
  duplicates: number;
  lost: number;
  keptAside: number;
  /** Mails malformed on purpose: the only ones that may be kept aside. */
  malformed: number;
  jobs: number;
  deliveries: number;
  crashes: { checkpoint: number; beforeCall: number; afterCall: number };
  duplicateDeliveries: number;
  /** Runs made to stall until their lease lapsed. */
  stalledRuns: number;
  /** Runs that got the mailbox while another live run still held it (its lease had lapsed). */
  overlappingRuns: number;
  busy: number;
  incomplete: number;
  tickets: number;
  supplements: number;
  /** Replies that became a supplement of the ticket of the mail they answer. */
  threadedReplies: number;
  replies: number;
  skipped: number;
  ticketNumberGaps: number;
  unprocessedSources: number;
  acknowledgements: number;
  duplicateAcknowledgements: number;
  /** What went wrong, mail by mail (empty when all is well). */
  problems: string[];
}

type Expectation = 'imported' | 'skipped' | 'keptAside';

interface ChaosMail {
  index: number;
  messageId: string;
  raw: Buffer;
  receivedDateTime: string;
  expect: Expectation;
  images: number;
  /** The mail this one answers. */
  answers: number | null;
}

const MAX_MESSAGE_BYTES = 100_000;
const WAVES = 5;
const SENDERS = 30;
/** Leases lapse quickly here, so a redelivery after a crash does not wait long for the dead run's lease. */
const LEASE_TTL_MS = 250;
/** Odds that one checkpoint or one adapter call is where a chaotic process dies. */
const STEP_CRASH = 0.008;
const CALL_CRASH = 0.008;
/** Odds that a call of a stalling process is held up (its lease renewals always are). */
const CALL_STALL = 0.05;
/** Deliveries of one job before the host gives up on it (host.json maxDequeueCount). */
const MAX_DEQUEUE_COUNT = 5;
const CLEAN_RUNS = 10;
/**
 * Graph shows a sent mail in Sent Items a little late, so the importer trusts a look there only once the
 * acknowledgement was decided longer ago than its delay: here the emulator lags 300 ms behind a 1 s delay.
 */
const SENT_ITEMS_LAG_MS = 300;
const SENT_ITEMS_DELAY_SECONDS = 1;
const KEEP_ASIDE_CATEGORY = 'Import failed';

const silentTelemetry: ImportTelemetry = { messageOutcome: () => {}, mailboxRun: () => {} };
const quiet = { info: () => {}, warn: () => {}, error: () => {} };

function compose(mail: {
  from: string;
  to: string;
  subject: string;
  text: string;
  messageId: string;
  inReplyTo?: string;
  headers?: Record<string, string>;
  attachments?: Array<{ filename: string; content: Buffer; contentType: string }>;
}): Promise<Buffer> {
  const domain = mail.from.slice(mail.from.lastIndexOf('@') + 1).replace(/>$/, '');
  return new MailComposer({
    ...mail,
    // As Exchange Online stamps a mail whose sender it authenticated; acknowledgements need it.
    headers: {
      'Authentication-Results': `spf=pass (sender IP is 192.0.2.10) smtp.mailfrom=${domain}; dkim=none (message not signed) header.d=none;dmarc=pass action=none header.from=${domain};compauth=pass reason=100`,
      ...mail.headers,
    },
    references: mail.inReplyTo ? [mail.inReplyTo] : undefined,
    date: new Date('2026-11-23T08:00:00Z'),
  })
    .compile()
    .build();
}

/** MIME nested deeper than the parser allows: a structural limit, kept aside at once. */
function tooDeep(messageId: string, from: string, to: string): Buffer {
  const depth = 30;
  const opening = Array.from(
    { length: depth },
    (_, level) => `--b${level}\r\nContent-Type: multipart/mixed; boundary=b${level + 1}\r\n\r\n`,
  ).join('');
  return Buffer.from(
    `Message-ID: ${messageId}\r\nFrom: ${from}\r\nTo: ${to}\r\nSubject: Deeply nested\r\n` +
      `Content-Type: multipart/mixed; boundary=b0\r\n\r\n${opening}--b${depth}--\r\n`,
  );
}

async function chaosMails(seed: number, count: number, desk: string): Promise<ChaosMail[]> {
  const next = random(seed);
  const mails: ChaosMail[] = [];
  const start = Date.parse('2026-11-23T08:00:00Z');
  for (let index = 0; index < count; index++) {
    const messageId = `<chaos-${seed}-${index}@customer.example>`;
    const from = `customer${Math.floor(next() * SENDERS)}@customer.example`;
    const roll = next();
    const threads = mails.filter((mail) => mail.expect === 'imported');
    const images = next() < 0.2 ? 1 + Math.floor(next() * 2) : 0;
    const attachments = Array.from({ length: images }, (_, k) => ({
      filename: `screenshot-${index}-${k}.png`,
      content: pngOfSize(next, 2_000 + Math.floor(next() * 6_000)),
      contentType: 'image/png',
    }));
    const base = { index, messageId, receivedDateTime: new Date(start + index * 60_000).toISOString() };
    if (index > 0 && roll < 0.02) {
      const oversized = index % 2 === 0;
      const raw = oversized
        ? await compose({
            from,
            to: desk,
            subject: `Log dump ${index}`,
            text: 'log line\n'.repeat(MAX_MESSAGE_BYTES / 6),
            messageId,
          })
        : tooDeep(messageId, from, desk);
      mails.push({ ...base, raw, expect: 'keptAside', images: 0, answers: null });
    } else if (index > 0 && roll < 0.06) {
      const raw = await compose({
        from,
        to: desk,
        subject: 'Out of office',
        text: 'I am away until Monday.',
        messageId,
        headers: { 'Auto-Submitted': 'auto-replied' },
      });
      mails.push({ ...base, raw, expect: 'skipped', images: 0, answers: null });
    } else if (threads.length > 0 && roll < 0.31) {
      const original = threads[Math.floor(next() * threads.length)] as ChaosMail;
      const raw = await compose({
        from,
        to: desk,
        subject: `RE: Request ${original.index}`,
        text: `More about ${original.index}, from mail ${index}.`,
        messageId,
        inReplyTo: original.messageId,
        attachments,
      });
      mails.push({ ...base, raw, expect: 'imported', images, answers: original.index });
    } else {
      const raw = await compose({
        from,
        to: desk,
        subject: `Request ${index}`,
        text: `Something is wrong (mail ${index}).`,
        messageId,
        attachments,
      });
      mails.push({ ...base, raw, expect: 'imported', images, answers: null });
    }
  }
  return mails;
}

function chaosHelpdesk(id: string, userId: string) {
  return helpdeskSchema.parse({
    id,
    name: `Chaos ${id}`,
    statuses: [
      { id: 'new', name: 'New' },
      { id: 'imported', name: 'E-mail imported', flags: ['imported'] },
      { id: 'replied', name: 'Customer replied' },
    ],
    statusAfterCustomerSupplementId: 'replied',
    importer: {
      mailboxes: [{ id: 'main', userId }],
      defaultContactId: 'unknown',
      defaultEmployee: { id: 'importer', name: 'Mail Importer' },
      attachments: { maxMessageBytes: MAX_MESSAGE_BYTES },
      acknowledgement: {
        newTicket: { enabled: true },
        supplement: { enabled: true },
        maxPerSenderPerHour: 100,
        maxPerSenderPerDay: 1000,
      },
      keepAside: { category: KEEP_ASIDE_CATEGORY },
    },
  });
}

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const log = options.log ?? (() => {});
  const environment = readEnvironment({
    ...options.env,
    SENT_ITEMS_DELAY_SECONDS: String(SENT_ITEMS_DELAY_SECONDS),
  });
  options.graph.setSentItemsDelay(SENT_ITEMS_LAG_MS);
  try {
    return await chaosRun(options, environment, log);
  } finally {
    options.graph.setSentItemsDelay(0);
  }
}

async function chaosRun(
  options: ChaosOptions,
  environment: ReturnType<typeof readEnvironment>,
  log: (line: string) => void,
): Promise<ChaosReport> {
  await provisionLocalResources(environment);
  const base = createServices(environment).dependencies(quiet);
  const helpdeskId = `chaos-${options.seed}`;
  const userId = `desk-${options.seed}@chaos.test`;
  const ref: MailboxRef = { helpdeskId, mailboxId: 'main' };
  await base.helpdesks.put(chaosHelpdesk(helpdeskId, userId));
  await base.contacts.put({
    id: 'unknown',
    helpdeskId,
    name: 'Unknown sender',
    emailLower: 'unknown@chaos.test',
    organisation: null,
  });
  for (let k = 0; k < 5; k++) {
    await base.contacts.put({
      id: `customer${k}`,
      helpdeskId,
      name: `Customer ${k}`,
      emailLower: `customer${k}@customer.example`,
      organisation: { id: 'org', name: 'Customer Ltd' },
    });
  }
  options.graph.addMailbox(userId);
  const mails = await chaosMails(options.seed, options.mails, userId);

  const report: ChaosReport = {
    mails: mails.length,
    duplicates: 0,
    lost: 0,
    keptAside: 0,
    malformed: mails.filter((mail) => mail.expect === 'keptAside').length,
    jobs: 0,
    deliveries: 0,
    crashes: { checkpoint: 0, beforeCall: 0, afterCall: 0 },
    duplicateDeliveries: 0,
    stalledRuns: 0,
    overlappingRuns: 0,
    busy: 0,
    incomplete: 0,
    tickets: 0,
    supplements: 0,
    threadedReplies: 0,
    replies: mails.filter((mail) => mail.answers !== null).length,
    skipped: 0,
    ticketNumberGaps: 0,
    unprocessedSources: 0,
    acknowledgements: 0,
    duplicateAcknowledgements: 0,
    problems: [],
  };

  let processes = 0;
  /** Processes holding the mailbox's lease while running: more than one means a lapsed lease. */
  const holding = new Set<number>();
  const ids = new WeakMap<CrashingProcess, number>();
  const tracked = (id: number): ImportDependencies => ({
    ...base,
    helpdesks: new Proxy(base.helpdesks, {
      get(target, property, receiver) {
        if (property !== 'acquireLease') return Reflect.get(target, property, receiver);
        return async (...args: Parameters<HelpdeskStore['acquireLease']>) => {
          const lease = await target.acquireLease(...args);
          if (lease && holding.size > 0) report.overlappingRuns++;
          if (lease) holding.add(id);
          return lease;
        };
      },
    }),
  });
  /** A process of its own per delivery; its choices come from the seed and its number. */
  const newProcess = (behaviour: 'chaotic' | 'clean' | 'stalling'): CrashingProcess => {
    const id = ++processes;
    const next = random(options.seed * 7919 + id);
    const stallsUntil = Date.now() + 8 * LEASE_TTL_MS;
    const process = crashingProcess(tracked(id), {
      atStep: () => behaviour === 'chaotic' && next() < STEP_CRASH,
      atCall: (call) => {
        // The very first reads only make the job start again; the crash budget is better spent later.
        if (behaviour !== 'chaotic' || call === 'helpdesks.get') return null;
        return next() < CALL_CRASH ? (next() < 0.5 ? 'before' : 'after') : null;
      },
      // A stall passes: after a while the process goes on at full speed, to find its lease taken over.
      stallBefore: (call) =>
        behaviour === 'stalling' &&
        Date.now() < stallsUntil &&
        (call === 'lease.renew' || next() < CALL_STALL)
          ? 3 * LEASE_TTL_MS
          : 0,
    });
    ids.set(process, id);
    return process;
  };

  const deliver = async (process: CrashingProcess): Promise<MailboxRunResult | 'crashed'> => {
    report.deliveries++;
    const id = ids.get(process);
    try {
      const result = await importMailbox(process.deps, ref, {
        trigger: 'chaos',
        deadline: Date.now() + 120_000,
        telemetry: silentTelemetry,
        leaseTtlMs: LEASE_TTL_MS,
      });
      if (result.status === 'busy') report.busy++;
      if (result.status === 'incomplete') report.incomplete++;
      return result;
    } catch (error) {
      const died = process.diedAt();
      if (!died) throw error;
      if (died.startsWith('at ')) report.crashes.checkpoint++;
      else if (died.startsWith('before ')) report.crashes.beforeCall++;
      else report.crashes.afterCall++;
      return 'crashed';
    } finally {
      if (id !== undefined) holding.delete(id);
    }
  };

  /** One queue job: redelivered after each crash, once the dead run's lease has lapsed. */
  const job = async (first: CrashingProcess = newProcess('chaotic')): Promise<void> => {
    let process = first;
    for (let dequeueCount = 1; dequeueCount <= MAX_DEQUEUE_COUNT; dequeueCount++) {
      if ((await deliver(process)) !== 'crashed') return;
      // The dead run's lease lapses before anything else gets the mailbox.
      await sleep(LEASE_TTL_MS + 30);
      process = newProcess('chaotic');
    }
  };

  /** A second job that keeps trying until it gets the mailbox (the first one's lease lapsed). */
  const takeOver = async (): Promise<void> => {
    const until = Date.now() + 20 * LEASE_TTL_MS;
    while (Date.now() < until) {
      const result = await deliver(newProcess('chaotic'));
      if (result !== 'crashed' && result.status !== 'busy') return;
      await sleep(result === 'crashed' ? LEASE_TTL_MS + 30 : LEASE_TTL_MS / 4);
    }
  };

  const next = random(options.seed ^ 0x5eed);
  const perWave = Math.ceil(mails.length / WAVES);
  const roundsPerWave = Math.max(3, Math.ceil(perWave / 15));
  for (let wave = 0; wave < WAVES; wave++) {
    for (const mail of mails.slice(wave * perWave, (wave + 1) * perWave)) {
      options.graph.deliver(userId, mail.raw, { receivedDateTime: mail.receivedDateTime });
    }
    for (let round = 0; round < roundsPerWave; round++) {
      report.jobs++;
      const roll = next();
      // A stall is worth most on a fresh wave, when the stalled run has plenty of mail left to import.
      if (round === 0 ? roll < 0.6 : roll < 0.1) {
        // A run stalls (its lease renewals and some calls hang) until its lease lapses and another takes over.
        report.stalledRuns++;
        report.jobs++;
        await Promise.all([job(newProcess('stalling')), sleep(LEASE_TTL_MS / 4).then(takeOver)]);
      } else if (roll < 0.35) {
        // The same job delivered twice at once.
        report.duplicateDeliveries++;
        await Promise.all([job(), job()]);
      } else if (roll < 0.45) {
        // The same job delivered again after it succeeded (its message became visible again).
        report.duplicateDeliveries++;
        await job();
        await job();
      } else {
        await job();
      }
    }
  }

  // The storm is over: clean runs until the mailbox is settled, once an acknowledgement a crashed run left
  // undecided may be looked for in Sent Items.
  await sleep(SENT_ITEMS_DELAY_SECONDS * 1000);
  for (let run = 0; run < CLEAN_RUNS; run++) {
    const result = await deliver(newProcess('clean'));
    if (result === 'crashed') throw new Error('a clean run crashed');
    const { created, supplemented, skipped, keptAside, failed } = result.counts;
    if (result.status === 'done' && created + supplemented + skipped + keptAside + failed === 0) break;
    if (result.status === 'busy') await sleep(LEASE_TTL_MS + 50);
  }

  await verify(options, base, environment, helpdeskId, userId, mails, report);
  log(reportLines(report).join('\n'));
  return report;
}

async function verify(
  options: ChaosOptions,
  deps: ImportDependencies,
  environment: ReturnType<typeof readEnvironment>,
  helpdeskId: string,
  userId: string,
  mails: ChaosMail[],
  report: ChaosReport,
): Promise<void> {
  const database = connectCosmos({
    endpoint: environment.COSMOS_ENDPOINT,
    database: environment.COSMOS_DATABASE,
    key: environment.COSMOS_KEY ?? '',
  });
  const { resources: documents } = await database
    .container('tickets')
    .items.query<Ticket | Supplement | HistoryEntry>({
      query: 'SELECT * FROM c WHERE c.helpdeskId = @helpdeskId',
      parameters: [{ name: '@helpdeskId', value: helpdeskId }],
    })
    .fetchAll();
  const partition = mailboxKey(helpdeskId, 'main');
  const { resources: records } = await database
    .container('mail')
    .items.query<MailRecord>(
      {
        query: 'SELECT * FROM c WHERE c.mailboxKey = @partition',
        parameters: [{ name: '@partition', value: partition }],
      },
      { partitionKey: partition },
    )
    .fetchAll();
  const recordByKey = new Map(records.map((record) => [record.id, record]));
  const images = blobServiceClient(environment).getContainerClient(environment.IMAGES_CONTAINER);
  const sources = new Map(
    options.graph
      .messages(userId)
      .filter((message) => message.folder !== 'sentitems')
      .map((message) => [message.internetMessageId, message]),
  );
  const made = new Map<string, Array<Ticket | Supplement>>();
  const history = new Set<string>();
  for (const document of documents) {
    if (document.docType === 'history') history.add(`${document.ticketKey}/${document.id}`);
    else made.set(document.source.messageKey, [...(made.get(document.source.messageKey) ?? []), document]);
  }
  const tickets = documents.filter((document): document is Ticket => document.docType === 'ticket');
  report.tickets = tickets.length;
  report.supplements = documents.filter((document) => document.docType === 'supplement').length;
  report.ticketNumberGaps = Math.max(0, ...tickets.map((ticket) => ticket.number)) - tickets.length;
  report.keptAside = records.filter((record) => record.state === 'keptAside').length;
  const problem = (mail: ChaosMail, text: string) => report.problems.push(`mail ${mail.index}: ${text}`);
  const ticketOf = new Map<number, number>();

  for (const mail of mails) {
    const key = messageKey(mail.messageId);
    const record = recordByKey.get(key);
    const source = sources.get(mail.messageId);
    const results = made.get(key) ?? [];
    if (mail.expect !== 'imported') {
      if (results.length > 0) {
        report.duplicates += results.length;
        problem(mail, `expected ${mail.expect}, but made ${results.length} ticket(s) or supplement(s)`);
      }
      const keptAside =
        record?.state === 'keptAside' &&
        record.keptAside?.blobName &&
        (await deps.rawMail.readKeptAside(record.keptAside.blobName)).equals(mail.raw) &&
        source?.categories.includes(KEEP_ASIDE_CATEGORY) &&
        !source.isRead;
      const settled = mail.expect === 'skipped' ? record?.state === 'skipped' && source?.isRead : keptAside;
      if (!settled) {
        report.lost++;
        problem(mail, `expected ${mail.expect}, record is ${record?.state ?? 'missing'}`);
      }
      continue;
    }
    if (results.length > 1) {
      report.duplicates += results.length - 1;
      problem(mail, `imported ${results.length} times`);
    }
    const result = results[0];
    if (!result) {
      report.lost++;
      problem(mail, `not imported (record ${record?.state ?? 'missing'})`);
      continue;
    }
    const event = result.docType === 'ticket' ? 'createdByMailImport' : 'supplementedByMailImport';
    const storedImages = await Promise.all(
      result.images.map((image) => images.getBlobClient(image.blobName).exists()),
    );
    const complete =
      history.has(`${result.ticketKey}/history-${event}-${key}`) &&
      result.images.length === mail.images &&
      storedImages.every(Boolean) &&
      record?.state === 'stored';
    if (!complete) {
      report.lost++;
      problem(mail, `incomplete ${result.docType} (record ${record?.state ?? 'missing'})`);
    }
    if (!source?.isRead) {
      report.unprocessedSources++;
      problem(mail, 'source message not marked read');
    }
    const ticketNumber = result.docType === 'ticket' ? result.number : result.ticketNumber;
    ticketOf.set(mail.index, ticketNumber);
    if (mail.answers !== null && ticketNumber === ticketOf.get(mail.answers)) report.threadedReplies++;
  }
  report.skipped = records.filter((record) => record.state === 'skipped').length;

  const sent = new Map<string, number>();
  for (const message of options.graph.messages(userId, 'sentitems')) {
    const id = message.internetMessageId ?? message.id;
    sent.set(id, (sent.get(id) ?? 0) + 1);
  }
  report.acknowledgements = sent.size;
  report.duplicateAcknowledgements = [...sent.values()].reduce((sum, count) => sum + count - 1, 0);
  if (report.duplicateAcknowledgements > 0) {
    report.problems.push(`${report.duplicateAcknowledgements} acknowledgement(s) sent twice`);
  }
}

export function reportLines(report: ChaosReport): string[] {
  const { crashes } = report;
  const crashCount = crashes.checkpoint + crashes.beforeCall + crashes.afterCall;
  return [
    ...report.problems.slice(0, 20).map((problem) => `chaos problem: ${problem}`),
    `chaos: ${report.malformed} mails malformed on purpose; ${report.jobs} jobs, ${report.deliveries} deliveries; ${crashCount} crashes injected (${crashes.checkpoint} at checkpoints, ${crashes.beforeCall} before and ${crashes.afterCall} after adapter calls)`,
    `chaos: ${report.duplicateDeliveries} duplicate deliveries, ${report.stalledRuns} runs stalled with hung lease renewals, ${report.overlappingRuns} runs overlapping another in the mailbox, ${report.busy} runs found the mailbox busy, ${report.incomplete} stopped early`,
    `chaos: ${report.tickets} tickets (${report.ticketNumberGaps} ticket numbers unused), ${report.supplements} supplements (${report.threadedReplies} of ${report.replies} replies threaded), ${report.skipped} skipped, ${report.acknowledgements} acknowledgements (${report.duplicateAcknowledgements} duplicates), ${report.unprocessedSources} sources not post-processed`,
    `chaos: ${report.mails} mails, ${report.duplicates} duplicates, ${report.lost} lost, ${report.keptAside} kept aside`,
  ];
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { mails: { type: 'string', default: '300' }, seed: { type: 'string', default: '1' } },
  });
  const mails = Number(values.mails);
  const seed = Number(values.seed);
  if (!Number.isSafeInteger(mails) || mails < 1) throw new Error(`--mails ${values.mails}: not a count`);
  if (!Number.isSafeInteger(seed) || seed < 0) throw new Error(`--seed ${values.seed}: not a seed`);
  const stack = await startLocalStack();
  try {
    if (!stack.graph) throw new Error('the local stack started without its Graph emulator');
    const env = {
      ...stack.env,
      COSMOS_DATABASE: `chaos-${seed}`,
      IMPORT_QUEUE_NAME: 'chaos-imports',
    };
    const report = await runChaos({ mails, seed, env, graph: stack.graph, log: console.log });
    const healthy =
      report.duplicates === 0 &&
      report.lost === 0 &&
      report.keptAside === report.malformed &&
      report.unprocessedSources === 0 &&
      report.duplicateAcknowledgements === 0;
    process.exitCode = healthy ? 0 : 1;
  } finally {
    await stack.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    return exitWhenWritten(1);
  });
}
