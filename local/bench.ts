/**
 * `npm run bench`: the real timer → queue → import path with the real adapters against the local stack
 * (Azurite, the Cosmos DB emulator, the Graph mailbox emulator), on a deterministic corpus.
 *
 * The importer runs in a process of its own (local/bench/importer.ts), so its memory is measured
 * apart from the emulators: Azurite and Cosmos DB are child processes of the stack, and the Graph
 * emulator, which holds every delivered mail, lives in this process.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createServices } from '../shared/app/services.js';
import { readEnvironment } from '../shared/config/environment.js';
import { type Helpdesk, helpdeskSchema } from '../shared/helpdesk/settings.js';
import type { ImportDependencies } from '../shared/import/dependencies.js';
import { parseMail } from '../shared/mail/parseMail.js';
import {
  benchContacts,
  KIND_LABELS,
  largeMail,
  MAIL_KINDS,
  type MailboxCorpus,
  type MailKind,
  mailboxCorpus,
  REPLY_SEPARATOR,
} from './bench/corpus.js';
import { type LatencyResults, measureLatency } from './bench/latency.js';
import {
  type FromImporter,
  type ImporterOptions,
  type RunMeasurement,
  STAGE_LABELS,
  STAGES,
  type Tally,
  type ToImporter,
} from './bench/protocol.js';
import { exitWhenWritten } from './exit.js';
import type { GraphEmulator } from './graph-emulator/index.js';
import { provisionLocalResources } from './provision.js';
import { startLocalStack } from './stack.js';

const MB = 1024 * 1024;
/** The timer never fires on its own during a run: the bench fires it. */
const NEVER = '0 0 0 1 1 *';
/** Instance memory of the Flex Consumption plan in infra/ (main.bicep), for GB-seconds. */
const INSTANCE_MEMORY_GB = 2;
const IMPORTER_ENTRY = path.join(import.meta.dirname, 'bench', 'importer.ts');

interface Options {
  mails: number;
  concurrency: number;
  seed: number;
  mailboxSize: number;
  largeMb: number;
  /** --graph-latency: milliseconds the Graph emulator waits before each answer (Graph in Azure is not on loopback). */
  graphLatencyMs: number;
  json: string | undefined;
  cpuProf: string | undefined;
  /** --latency: also measure delivery-to-ticket latency with notifications and with polling. */
  latency: boolean;
  latencyMails: number;
  latencyRate: number;
}

function positiveInteger(name: string, value: string): number {
  const number = Number(value);
  if (!Number.isSafeInteger(number) || number < 1)
    throw new Error(`--${name} ${value}: not a positive integer`);
  return number;
}

function options(): Options {
  const { values } = parseArgs({
    options: {
      mails: { type: 'string', default: '1000' },
      concurrency: { type: 'string', default: '2' },
      seed: { type: 'string', default: '1' },
      'mailbox-size': { type: 'string', default: '500' },
      'large-mb': { type: 'string', default: '30' },
      'graph-latency': { type: 'string', default: '0' },
      json: { type: 'string' },
      'cpu-prof': { type: 'string' },
      latency: { type: 'boolean', default: false },
      'latency-mails': { type: 'string', default: '60' },
      'latency-rate': { type: 'string', default: '2' },
    },
  });
  return {
    mails: positiveInteger('mails', values.mails),
    concurrency: positiveInteger('concurrency', values.concurrency),
    seed: positiveInteger('seed', values.seed),
    mailboxSize: positiveInteger('mailbox-size', values['mailbox-size']),
    largeMb: positiveInteger('large-mb', values['large-mb']),
    graphLatencyMs:
      values['graph-latency'] === '0' ? 0 : positiveInteger('graph-latency', values['graph-latency']),
    json: values.json,
    cpuProf: values['cpu-prof'],
    latency: values.latency,
    latencyMails: positiveInteger('latency-mails', values['latency-mails']),
    latencyRate: positiveInteger('latency-rate', values['latency-rate']),
  };
}

function log(line: string): void {
  console.log(line);
}

/** A helpdesk with the schema's defaults: mark read after import, no acknowledgement mail, no raw archive. */
function benchHelpdesk(id: string, userId: string): Helpdesk {
  return helpdeskSchema.parse({
    id,
    name: `Bench helpdesk ${id}`,
    defaults: {
      typeId: 'incident',
      priorityId: 'normal',
      ticketManager: { id: 'emp-2', name: 'Mila de Vries' },
    },
    statuses: [
      { id: 'new', name: 'New' },
      { id: 'mail-imported', name: 'E-mail imported', flags: ['imported'] },
      { id: 'customer-replied', name: 'Customer replied' },
    ],
    statusAfterCustomerSupplementId: 'customer-replied',
    importer: {
      mailboxes: [{ id: 'main', userId }],
      defaultContactId: 'unknown-sender',
      defaultEmployee: { id: 'emp-1', name: 'Mail Importer' },
      replySeparator: REPLY_SEPARATOR,
    },
  });
}

async function seedHelpdesk(deps: ImportDependencies, helpdesk: Helpdesk): Promise<void> {
  await deps.helpdesks.put(helpdesk);
  for (const contact of benchContacts(helpdesk.id)) await deps.contacts.put(contact);
}

/** Settings of the importer: the stack's, a database and queue of the bench's own. */
async function prepare(stackEnv: Record<string, string>, database: string): Promise<Record<string, string>> {
  const env = {
    ...stackEnv,
    COSMOS_DATABASE: database,
    IMPORT_QUEUE_NAME: `${database}-imports`,
    IMPORT_SCHEDULE: NEVER,
  };
  await provisionLocalResources(readEnvironment(env));
  return env;
}

/** The importer process: forked with this process's loader (tsx) and a callable gc() for the baselines. */
class Importer {
  private constructor(private readonly child: ChildProcess) {}

  /** With `cpuProfileDir`, the process writes a V8 CPU profile there when it exits (--cpu-prof). */
  static async start(importerOptions: ImporterOptions, cpuProfileDir?: string): Promise<Importer> {
    const child = fork(IMPORTER_ENTRY, [JSON.stringify(importerOptions)], {
      execArgv: [
        ...process.execArgv,
        '--expose-gc',
        ...(cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfileDir}`] : []),
      ],
    });
    const importer = new Importer(child);
    await importer.next('ready');
    return importer;
  }

  private async next<T extends FromImporter['type']>(type: T): Promise<Extract<FromImporter, { type: T }>> {
    const exited = once(this.child, 'exit').then(([code]) => {
      throw new Error(`importer process exited (${code}) while the bench waited for ${type}`);
    });
    const [message] = (await Promise.race([once(this.child, 'message'), exited])) as [FromImporter];
    if (message.type === 'failed') throw new Error(`importer process: ${message.message}`);
    if (message.type !== type) throw new Error(`importer process: expected ${type}, got ${message.type}`);
    return message as Extract<FromImporter, { type: T }>;
  }

  async run(): Promise<RunMeasurement> {
    this.child.send({ type: 'run' } satisfies ToImporter);
    return (await this.next('result')).measurement;
  }

  async stop(): Promise<void> {
    const exited = once(this.child, 'exit');
    this.child.send({ type: 'stop' } satisfies ToImporter);
    await exited;
  }
}

// ---------------------------------------------------------------------------------------------
// Corpus
// ---------------------------------------------------------------------------------------------

interface CorpusSummary {
  mails: number;
  mailboxes: number;
  bytes: number;
  byKind: Record<MailKind, { count: number; bytes: number; minBytes: number; maxBytes: number }>;
}

function summarise(corpora: MailboxCorpus[]): CorpusSummary {
  const byKind = Object.fromEntries(
    MAIL_KINDS.map((kind) => [kind, { count: 0, bytes: 0, minBytes: Number.POSITIVE_INFINITY, maxBytes: 0 }]),
  ) as CorpusSummary['byKind'];
  for (const mail of corpora.flatMap((corpus) => corpus.mails)) {
    const entry = byKind[mail.kind];
    entry.count++;
    entry.bytes += mail.raw.length;
    entry.minBytes = Math.min(entry.minBytes, mail.raw.length);
    entry.maxBytes = Math.max(entry.maxBytes, mail.raw.length);
  }
  const all = Object.values(byKind);
  return {
    mails: all.reduce((sum, entry) => sum + entry.count, 0),
    mailboxes: corpora.length,
    bytes: all.reduce((sum, entry) => sum + entry.bytes, 0),
    byKind,
  };
}

function deliver(graph: GraphEmulator, corpus: MailboxCorpus): void {
  graph.addMailbox(corpus.userId);
  for (const mail of corpus.mails)
    graph.deliver(corpus.userId, mail.raw, { receivedDateTime: mail.receivedDateTime });
}

/** The product's parser alone on the same raw MIME, one mail after the other: no I/O at all. */
async function parseOnly(corpora: MailboxCorpus[], helpdesk: Helpdesk): Promise<number> {
  const { maxMessageBytes, maxImageBytes, maxImagesBytesPerMessage } = helpdesk.importer.attachments;
  const started = performance.now();
  for (const mail of corpora.flatMap((corpus) => corpus.mails)) {
    await parseMail(mail.raw, { maxMessageBytes, maxImageBytes, maxImagesBytesPerMessage });
  }
  return performance.now() - started;
}

// ---------------------------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------------------------

const sum = (tally: Tally): number => Object.values(tally).reduce((total, count) => total + count, 0);
const fixed = (value: number, digits = 2): string => (Number.isFinite(value) ? value.toFixed(digits) : '-');
const mb = (bytes: number): number => bytes / MB;
/** A group's requests are shared out over its messages, so a count per outcome can have a fraction. */
const requestCount = (count: number): string => (Number.isInteger(count) ? String(count) : fixed(count, 1));

function table(rows: string[][]): string {
  const widths =
    rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length))) ?? [];
  return rows
    .map((row) =>
      row
        .map((cell, column) =>
          column === 0 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0),
        )
        .join('  '),
    )
    .join('\n');
}

function tallyRows(tally: Tally, divisor: number, indent = '  '): string[][] {
  return Object.entries(tally)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([operation, count]) => [`${indent}${operation}`, requestCount(count), fixed(count / divisor)]);
}

interface GraphCounts {
  /** HTTP calls per route key. */
  calls: Tally;
  /** Requests inside $batch calls per route key. */
  batched: Tally;
  httpCalls: number;
  /** As Graph's throttling counts them: every request, the ones inside a $batch one by one. */
  requests: number;
}

function graphCounts(counters: Record<string, number>): GraphCounts {
  const calls: Tally = {};
  const batched: Tally = {};
  for (const [key, count] of Object.entries(counters)) {
    if (key.startsWith('batched:')) batched[key.slice('batched:'.length)] = count;
    else calls[key] = count;
  }
  const httpCalls = sum(calls);
  return { calls, batched, httpCalls, requests: httpCalls - (calls['POST /$batch'] ?? 0) + sum(batched) };
}

interface Results {
  /** With --latency: delivery to ticket stored, with notifications and with polling alone. */
  latency?: LatencyResults;
  mails: number;
  messagesPerSecond: number;
  graphCallsPerMail: number;
  graphRequestsPerMail: number;
  cosmosRequestsPerMail: number;
  /** The requests charged to the messages that became a new ticket, per such message (run overhead not included). */
  cosmosRequestsPerNewTicket: number;
  /** The same for the messages that became a supplement. */
  cosmosRequestsPerSupplement: number;
  blobWritesPerMail: number;
  peakRssMb: number;
  importToParseRatio: number;
  largeMail: { sizeMb: number; peakRssOverBaselineMb: number };
  machine: {
    cpus: number;
    cpuModel: string;
    node: string;
    platform: string;
    /** 1-minute load average when the import started and when it ended: other work on the machine skews times. */
    loadAverage: { importStart: number; importEnd: number };
  };
  options: Omit<Options, 'json' | 'largeMb' | 'cpuProf' | 'latency' | 'latencyMails' | 'latencyRate'>;
  corpus: CorpusSummary;
  importSeconds: number;
  importerCpuSeconds: number;
  parseOnlySeconds: number;
  outcomes: Record<string, number>;
  stageMs: RunMeasurement['stageMs'];
  graph: { calls: Tally; batched: Tally };
  cosmos: RunMeasurement['cosmos'];
  blob: RunMeasurement['blob'];
  queue: RunMeasurement['queue'];
  baselineRssMb: number;
  largeMailDetail: {
    baselineRssMb: number;
    peakRssMb: number;
    peakRssSource: RunMeasurement['peakRssSource'];
    outcomes: Record<string, number>;
    seconds: number;
  };
  gbSecondsPer1000Mails: number;
}

/** Cosmos requests charged to the messages of one outcome, per message of it. */
function perOutcome(main: RunMeasurement, outcome: string): number {
  return sum(main.cosmos.byOutcome[outcome] ?? {}) / (main.outcomes[outcome] ?? 0);
}

function isWrite(operation: string): boolean {
  return /\b(PUT|POST|DELETE|PATCH)\b/.test(operation);
}

function report(
  opts: Options,
  corpus: CorpusSummary,
  parseMs: number,
  main: RunMeasurement,
  graph: GraphCounts,
  large: { sizeBytes: number; measurement: RunMeasurement },
  loadAverage: Results['machine']['loadAverage'],
): Results {
  const mails = corpus.mails;
  const seconds = main.wallMs / 1000;
  const cosmosTotal = sum(main.cosmos.total);
  const blobWrites = Object.entries(main.blob.total)
    .filter(([operation]) => isWrite(operation))
    .reduce((total, [, count]) => total + count, 0);
  const results: Results = {
    mails,
    messagesPerSecond: mails / seconds,
    graphCallsPerMail: graph.httpCalls / mails,
    graphRequestsPerMail: graph.requests / mails,
    cosmosRequestsPerMail: cosmosTotal / mails,
    cosmosRequestsPerNewTicket: perOutcome(main, 'created'),
    cosmosRequestsPerSupplement: perOutcome(main, 'supplemented'),
    blobWritesPerMail: blobWrites / mails,
    peakRssMb: mb(main.peakRssBytes),
    importToParseRatio: main.wallMs / parseMs,
    largeMail: {
      sizeMb: mb(large.sizeBytes),
      peakRssOverBaselineMb: mb(large.measurement.peakRssBytes - large.measurement.baselineRssBytes),
    },
    machine: {
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model ?? 'unknown',
      node: process.version,
      platform: `${os.platform()} ${os.release()}`,
      loadAverage,
    },
    options: {
      mails: opts.mails,
      concurrency: opts.concurrency,
      seed: opts.seed,
      mailboxSize: opts.mailboxSize,
      graphLatencyMs: opts.graphLatencyMs,
    },
    corpus,
    importSeconds: seconds,
    importerCpuSeconds: main.cpuMs / 1000,
    parseOnlySeconds: parseMs / 1000,
    outcomes: main.outcomes,
    stageMs: main.stageMs,
    graph: { calls: graph.calls, batched: graph.batched },
    cosmos: main.cosmos,
    blob: main.blob,
    queue: main.queue,
    baselineRssMb: mb(main.baselineRssBytes),
    largeMailDetail: {
      baselineRssMb: mb(large.measurement.baselineRssBytes),
      peakRssMb: mb(large.measurement.peakRssBytes),
      peakRssSource: large.measurement.peakRssSource,
      outcomes: large.measurement.outcomes,
      seconds: large.measurement.wallMs / 1000,
    },
    gbSecondsPer1000Mails: (INSTANCE_MEMORY_GB * seconds * 1000) / mails,
  };

  log('');
  log(`== Results: ${mails} mails in ${corpus.mailboxes} mailbox(es), ${opts.concurrency} at once ==`);
  log(
    table([
      ['measure', 'value'],
      ['import wall time (timer → queue drained)', `${fixed(seconds, 1)} s`],
      [
        'machine load (1-min average) at start / end',
        `${fixed(loadAverage.importStart)} / ${fixed(loadAverage.importEnd)}`,
      ],
      ['messages per second', fixed(results.messagesPerSecond, 1)],
      [
        'importer CPU (user + system)',
        `${fixed(main.cpuMs / 1000, 1)} s, ${fixed(main.cpuMs / mails, 1)} ms per mail`,
      ],
      ['Graph HTTP calls per mail', fixed(results.graphCallsPerMail, 3)],
      ['Graph requests per mail (throttling count)', fixed(results.graphRequestsPerMail, 3)],
      ['Cosmos requests per mail (all)', fixed(results.cosmosRequestsPerMail)],
      ['— per new ticket', fixed(results.cosmosRequestsPerNewTicket)],
      ['— per supplement', fixed(results.cosmosRequestsPerSupplement)],
      ['Blob writes per mail', fixed(results.blobWritesPerMail)],
      [
        'importer peak RSS',
        `${fixed(results.peakRssMb, 0)} MB (baseline ${fixed(mb(main.baselineRssBytes), 0)} MB)`,
      ],
      ['parse-only (same MIME, no I/O)', `${fixed(parseMs / 1000, 1)} s`],
      ['import-to-parse time ratio', fixed(results.importToParseRatio, 1)],
      [
        `${fixed(results.largeMail.sizeMb, 1)} MB mail: importer peak RSS over baseline`,
        `${fixed(results.largeMail.peakRssOverBaselineMb, 0)} MB (${fixed(results.largeMail.peakRssOverBaselineMb / results.largeMail.sizeMb, 2)}× the mail)`,
      ],
      [
        `Functions GB-s per 1,000 mails (${INSTANCE_MEMORY_GB} GB instance)`,
        fixed(results.gbSecondsPer1000Mails, 0),
      ],
    ]),
  );

  log('');
  log('-- Outcomes --');
  log(
    Object.entries(main.outcomes)
      .map(([outcome, count]) => `${outcome} ${count}`)
      .join(', '),
  );

  log('');
  log('-- Graph by route (emulator counters) --');
  log(
    table([
      ['route', 'calls', 'per mail'],
      ...tallyRows(graph.calls, mails),
      ...tallyRows(
        Object.fromEntries(
          Object.entries(graph.batched).map(([key, count]) => [`inside $batch: ${key}`, count]),
        ),
        mails,
      ),
      ['HTTP calls', String(graph.httpCalls), fixed(graph.httpCalls / mails, 3)],
      ['requests as throttling counts them', String(graph.requests), fixed(graph.requests / mails, 3)],
    ]),
  );

  log('');
  log('-- Cosmos DB requests (counted where they leave the importer) --');
  const cosmosRows: string[][] = [['operation', 'requests', 'per mail']];
  for (const [outcome, tally] of Object.entries(main.cosmos.byOutcome)) {
    const count = main.outcomes[outcome] ?? 0;
    cosmosRows.push(
      [`per ${outcome} mail (${count})`, requestCount(sum(tally)), fixed(sum(tally) / count)],
      ...tallyRows(tally, count, '    '),
    );
  }
  cosmosRows.push(
    [
      `mailbox runs (${main.runs}), amortised`,
      String(sum(main.cosmos.perRun)),
      fixed(sum(main.cosmos.perRun) / mails),
    ],
    ...tallyRows(main.cosmos.perRun, mails, '    '),
    ['timer', String(sum(main.cosmos.poll)), fixed(sum(main.cosmos.poll) / mails)],
    [
      'outside functions (SDK metadata)',
      String(sum(main.cosmos.other)),
      fixed(sum(main.cosmos.other) / mails),
    ],
    ['all', String(cosmosTotal), fixed(cosmosTotal / mails)],
  );
  log(table(cosmosRows));

  log('');
  log('-- Blob storage requests --');
  const blobRows: string[][] = [['operation', 'requests', 'per mail']];
  for (const [outcome, tally] of Object.entries(main.blob.byOutcome)) {
    const count = main.outcomes[outcome] ?? 0;
    blobRows.push(
      [`per ${outcome} mail (${count})`, requestCount(sum(tally)), fixed(sum(tally) / count)],
      ...tallyRows(tally, count, '    '),
    );
  }
  blobRows.push(
    ['writes', String(blobWrites), fixed(blobWrites / mails)],
    ['all', String(sum(main.blob.total)), fixed(sum(main.blob.total) / mails)],
  );
  log(table(blobRows));
  log(
    `New connections: Cosmos ${main.cosmos.newConnections}, Blob ${main.blob.newConnections}, Queue ${main.queue.newConnections}`,
  );
  log(
    `Queue storage: ${sum(main.queue.total)} requests (timer ${sum(main.queue.poll)}, host polling and the rest ${sum(main.queue.other) + sum(main.queue.perRun)})`,
  );

  log('');
  log('-- Time by stage (summed over mailbox runs) --');
  const stageTotal = STAGES.reduce((total, stage) => total + main.stageMs[stage], 0);
  log(
    table([
      ['stage', 'total s', 'ms per mail', 'share'],
      ...STAGES.map((stage) => [
        STAGE_LABELS[stage],
        fixed(main.stageMs[stage] / 1000, 1),
        fixed(main.stageMs[stage] / mails),
        `${fixed((100 * main.stageMs[stage]) / stageTotal, 1)}%`,
      ]),
      ['all stages', fixed(stageTotal / 1000, 1), fixed(stageTotal / mails), '100%'],
    ]),
  );
  for (const error of [...main.errors, ...large.measurement.errors]) log(`! ${error}`);
  return results;
}

// ---------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const opts = options();
  const benchStarted = performance.now();
  log(
    `bench: ${opts.mails} mails, mailboxes of ${opts.mailboxSize}, concurrency ${opts.concurrency}, seed ${opts.seed}; ` +
      `${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown'}), Node ${process.version}`,
  );
  const stack = await startLocalStack();
  const graph = stack.graph;
  try {
    if (!graph) throw new Error('the local stack started without its Graph emulator');

    // Throughput: the corpus in mailboxes of --mailbox-size, one helpdesk each.
    const env = await prepare(stack.env, 'bench');
    const seeding = createServices(readEnvironment(env)).dependencies({ info: log, warn: log, error: log });
    const corpora: MailboxCorpus[] = [];
    for (let start = 0, index = 1; start < opts.mails; start += opts.mailboxSize, index++) {
      const helpdesk = benchHelpdesk(`bench-${index}`, `desk-${index}@bench.test`);
      await seedHelpdesk(seeding, helpdesk);
      const corpus = await mailboxCorpus(
        opts.seed,
        index,
        helpdesk.id,
        `desk-${index}@bench.test`,
        Math.min(opts.mailboxSize, opts.mails - start),
      );
      deliver(graph, corpus);
      // Graph has a message's body from delivery: the emulator works it out now, not during the import.
      await graph.prepareBodies(corpus.userId);
      corpora.push(corpus);
    }
    const corpus = summarise(corpora);
    log(
      table([
        ['corpus kind', 'mails', 'share', 'avg KB', 'min KB', 'max KB'],
        ...MAIL_KINDS.map((kind) => {
          const entry = corpus.byKind[kind];
          return [
            KIND_LABELS[kind],
            String(entry.count),
            `${fixed((100 * entry.count) / corpus.mails, 1)}%`,
            fixed(entry.bytes / Math.max(1, entry.count) / 1024, 1),
            fixed(entry.count ? entry.minBytes / 1024 : 0, 1),
            fixed(entry.maxBytes / 1024, 1),
          ];
        }),
        [
          'all',
          String(corpus.mails),
          '100%',
          fixed(corpus.bytes / corpus.mails / 1024, 1),
          '',
          `${fixed(mb(corpus.bytes), 1)} MB in all`,
        ],
      ]),
    );

    const parseMs = await parseOnly(corpora, benchHelpdesk('parse-only', 'parse@bench.test'));
    log(`parse-only: ${fixed(parseMs / 1000, 1)} s`);

    const importer = await Importer.start(
      { env, concurrency: opts.concurrency },
      opts.cpuProf ? path.resolve(opts.cpuProf) : undefined,
    );
    graph.resetCounters();
    graph.setLatency(opts.graphLatencyMs);
    log('importing…');
    const loadAtStart = os.loadavg()[0] ?? 0;
    const measurement = await importer.run();
    const loadAverage = { importStart: loadAtStart, importEnd: os.loadavg()[0] ?? 0 };
    const counts = graphCounts(graph.counters());
    graph.setLatency(0);
    await importer.stop();
    const expected = {
      created: corpus.mails - corpus.byKind.reply.count,
      supplemented: corpus.byKind.reply.count,
    };
    for (const [outcome, count] of Object.entries(expected)) {
      if (measurement.outcomes[outcome] !== count) {
        measurement.errors.push(
          `expected ${count} ${outcome}, the import reported ${measurement.outcomes[outcome] ?? 0}`,
        );
      }
    }

    // Memory: one mailbox, one small mail to warm up, then the large mail alone.
    const largeEnv = await prepare(stack.env, 'bench-large');
    const largeHelpdesk = benchHelpdesk('bench-large', 'large@bench.test');
    await seedHelpdesk(
      createServices(readEnvironment(largeEnv)).dependencies({ info: log, warn: log, error: log }),
      largeHelpdesk,
    );
    const warmUp = await mailboxCorpus(opts.seed, 0, largeHelpdesk.id, 'large@bench.test', 1);
    deliver(graph, warmUp);
    const largeImporter = await Importer.start({ env: largeEnv, concurrency: 1 });
    await largeImporter.run();
    const raw = await largeMail(opts.seed, 'large@bench.test', opts.largeMb);
    graph.deliver('large@bench.test', raw);
    log(`importing one ${fixed(mb(raw.length), 1)} MB mail…`);
    const large = await largeImporter.run();
    await largeImporter.stop();
    if (large.outcomes.created !== 1)
      large.errors.push(`the large mail was not imported: ${JSON.stringify(large.outcomes)}`);

    const results = report(
      opts,
      corpus,
      parseMs,
      measurement,
      counts,
      { sizeBytes: raw.length, measurement: large },
      loadAverage,
    );
    if (opts.latency) {
      const latencyEnv = await prepare(stack.env, 'bench-latency');
      const latencySeeding = createServices(readEnvironment(latencyEnv)).dependencies({
        info: log,
        warn: log,
        error: log,
      });
      results.latency = await measureLatency({
        graph,
        env: latencyEnv,
        mails: opts.latencyMails,
        ratePerSecond: opts.latencyRate,
        seed: opts.seed,
        seedHelpdesk: (id, userId) => seedHelpdesk(latencySeeding, benchHelpdesk(id, userId)),
        log,
      });
      const { notifications, polling } = results.latency;
      log('');
      log(
        table([
          ['delivery → ticket stored', 'mails', 'p50 s', 'p95 s', 'max s'],
          ...(
            [
              ['change notifications', notifications],
              [`polling (${results.latency.pollingSchedule})`, polling],
            ] as const
          ).map(([label, stats]) => [
            label,
            String(stats.mails),
            fixed(stats.p50Ms / 1000),
            fixed(stats.p95Ms / 1000),
            fixed(stats.maxMs / 1000),
          ]),
        ]),
      );
      if (notifications.mails !== opts.latencyMails || polling.mails !== opts.latencyMails) {
        log(`latency: expected ${opts.latencyMails} mails stored in each mode`);
        process.exitCode = 1;
      }
    }
    log('');
    log(`bench finished in ${fixed((performance.now() - benchStarted) / 1000, 0)} s`);
    if (opts.json) {
      await writeFile(opts.json, `${JSON.stringify(results, null, 2)}\n`);
      log(`results written to ${opts.json}`);
    }
    if (measurement.errors.length > 0 || large.errors.length > 0) process.exitCode = 1;
  } finally {
    await stack.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  return exitWhenWritten(1);
});
