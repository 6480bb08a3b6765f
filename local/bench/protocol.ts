/** Messages between the benchmark (local/bench.ts) and its importer process (local/bench/importer.ts). */

/** Where the time of a mailbox run goes, in the order a message passes through it. */
export const STAGES = ['list', 'fetch', 'parse', 'decide', 'write', 'finish', 'postProcess', 'run'] as const;
export type Stage = (typeof STAGES)[number];

export const STAGE_LABELS: Record<Stage, string> = {
  list: 'list messages',
  fetch: 'fetch MIME (to response headers)',
  parse: 'parse (MIME body streams in here)',
  decide: 'decide (record, sender, plan)',
  write: 'write (images, ticket/supplement, history, thread, record)',
  finish: 'after stored (acknowledgement, bookkeeping)',
  postProcess: 'post-process ($batch mark read)',
  run: 'run overhead (settings, lease, status)',
};

/** Requests by operation, e.g. `mail.read 404` or `images PUT`. */
export type Tally = Record<string, number>;

export interface ServiceRequests {
  /** Every request of the run, by operation. */
  total: Tally;
  /** Requests made while importing one message, summed per outcome (created, supplemented, ...). */
  byOutcome: Record<string, Tally>;
  /** Requests of the mailbox runs outside any message (settings, lease, status). */
  perRun: Tally;
  /** Requests of the timer function (enabled mailboxes, enqueue). */
  poll: Tally;
  /** Requests made outside any function: the SDK's own (account, metadata) and the host's queue polling. */
  other: Tally;
  /** Requests that had to open a new connection (no kept-alive socket was free). */
  newConnections: number;
}

export interface RunMeasurement {
  wallMs: number;
  /** Mailbox runs (queue function invocations). */
  runs: number;
  /** Messages per outcome, from the import's telemetry. */
  outcomes: Record<string, number>;
  /** Milliseconds per stage, summed over all mailbox runs (runs overlap when concurrency > 1). */
  stageMs: Record<Stage, number>;
  cosmos: ServiceRequests;
  blob: ServiceRequests;
  queue: ServiceRequests;
  /** CPU time of the importer process during the run (user + system). */
  cpuMs: number;
  /** RSS after a full GC, right before the run. */
  baselineRssBytes: number;
  /** Highest RSS during the run: the kernel's high-water mark, reset right before the run (Linux), else sampled every 20 ms. */
  peakRssBytes: number;
  peakRssSource: 'high-water mark' | 'sampled';
  errors: string[];
}

export interface ImporterOptions {
  /** App settings for the importer: the stack's connections plus the bench's database and queue. */
  env: Record<string, string>;
  /** Mailboxes imported at once (queue messages processed in parallel). */
  concurrency: number;
}

export type ToImporter = { type: 'run' } | { type: 'stop' };
export type FromImporter =
  | { type: 'ready' }
  | { type: 'result'; measurement: RunMeasurement }
  | { type: 'failed'; message: string };
