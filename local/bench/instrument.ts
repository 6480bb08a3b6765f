/**
 * Measuring the importer from inside its process, without changing what it does:
 * - every HTTP request to Cosmos DB, Blob and Queue storage is counted where it leaves the process
 *   (Node's `http.client.*` diagnostics channels, which the Azure SDKs' Node HTTP client goes through),
 *   retries and failed requests included;
 * - each mailbox run gets a tracker (AsyncLocalStorage), so a request is charged to the message being
 *   imported and its outcome, or to the run, the timer or nobody (SDK metadata, host polling);
 * - stage times come from the import's `checkpoint` hook plus wrappers around the mail source and the
 *   message records, which only note the time before delegating.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { subscribe } from 'node:diagnostics_channel';
import type { ClientRequest, IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import type { InvocationContext, Timer } from '@azure/functions';
import type { AppServices } from '../../shared/app/services.js';
import type { MailSource } from '../../shared/graph/mailSource.js';
import type { FunctionDefinition } from '../../shared/host/functionDefinition.js';
import type { ImportDependencies } from '../../shared/import/dependencies.js';
import type { ImportStep } from '../../shared/import/importMessage.js';
import type { MailRecordStore } from '../../shared/import/mailRecord.js';
import type { ImportTelemetry } from '../../shared/observability/telemetry.js';
import { type ServiceRequests, STAGES, type Stage, type Tally } from './protocol.js';

type Service = 'cosmos' | 'blob' | 'queue';

function emptyRequests(): ServiceRequests {
  return { total: {}, byOutcome: {}, perRun: {}, poll: {}, other: {}, newConnections: 0 };
}

function add(tally: Tally, key: string, count = 1): void {
  tally[key] = (tally[key] ?? 0) + count;
}

function addAll(target: Tally, source: Tally): void {
  for (const [key, count] of Object.entries(source)) add(target, key, count);
}

/** Everything measured since the last reset, in this process. */
export class Measurements {
  stageMs = Object.fromEntries(STAGES.map((stage) => [stage, 0])) as Record<Stage, number>;
  outcomes: Record<string, number> = {};
  runs = 0;
  requests: Record<Service, ServiceRequests> = {
    cosmos: emptyRequests(),
    blob: emptyRequests(),
    queue: emptyRequests(),
  };

  reset(): void {
    this.stageMs = Object.fromEntries(STAGES.map((stage) => [stage, 0])) as Record<Stage, number>;
    this.outcomes = {};
    this.runs = 0;
    this.requests = { cosmos: emptyRequests(), blob: emptyRequests(), queue: emptyRequests() };
  }
}

type MessageTally = Record<Service, Tally>;
const emptyMessageTally = (): MessageTally => ({ cosmos: {}, blob: {}, queue: {} });

/** One mailbox run (or timer invocation): where its time and requests go. */
export class RunTracker {
  private stage: Stage = 'run';
  private since = performance.now();
  /** The message whose turn it is (or whose turn ended last, until its outcome is reported). */
  private message: MessageTally | null = null;
  /** Whether the current message is parsed: a MIME fetched after that is the next one's, read ahead. */
  private parsed = false;
  /** Messages done but for their group's writes: their outcomes are reported after the group, in order. */
  private waiting: MessageTally[] = [];
  /** Since a group's writes, until the next message starts: outcomes reported now are the group's. */
  private afterGroup = false;
  /** During a group's writes: the messages its requests are shared out over. */
  private group: MessageTally[] | null = null;

  /** run: a mailbox run; poll: the timer function; outside: no function (SDK metadata, host polling). */
  constructor(
    private readonly measurements: Measurements,
    readonly scope: 'run' | 'poll' | 'outside',
  ) {}

  enter(stage: Stage): void {
    const now = performance.now();
    if (this.scope === 'run') this.measurements.stageMs[this.stage] += now - this.since;
    this.since = now;
    this.stage = stage;
  }

  /** A message's turn begins: the one before it is done, its outcome reported now or after its group. */
  startMessage(): void {
    if (this.message) this.waiting.push(this.message);
    this.message = emptyMessageTally();
    this.parsed = false;
    this.afterGroup = false;
    this.enter('decide');
  }

  /** The current message is parsed: a MIME fetched from now on is the next one's, read ahead. */
  parsedMessage(): void {
    this.parsed = true;
  }

  /** Whether a MIME fetched now is the current message's own (not the next one's, read ahead). */
  get fetchingOwn(): boolean {
    return this.message !== null && !this.parsed;
  }

  /** The import reported the message's outcome: its requests go to that outcome. */
  endMessage(outcome: string): void {
    // After a group's writes its messages' outcomes come in order, the last of them still current.
    const waiting = this.afterGroup ? this.waiting.shift() : undefined;
    const message = waiting ?? this.message;
    if (!waiting) this.message = null;
    this.enter('run');
    add(this.measurements.outcomes, outcome);
    if (!message) return;
    for (const service of ['cosmos', 'blob', 'queue'] as const) {
      const byOutcome = this.measurements.requests[service].byOutcome;
      byOutcome[outcome] ??= {};
      addAll(byOutcome[outcome], message[service]);
    }
  }

  count(service: Service, operation: string): void {
    const requests = this.measurements.requests[service];
    add(requests.total, operation);
    const group = this.group;
    if (group && group.length > 0) {
      for (const message of group) add(message[service], operation, 1 / group.length);
    } else if (this.message) add(this.message[service], operation);
    else if (this.scope === 'run') add(requests.perRun, operation);
    else add(this.scope === 'poll' ? requests.poll : requests.other, operation);
  }

  /** A write for a group of messages: its requests are shared out over the messages waiting for it. */
  async groupWrite<T>(work: () => Promise<T>): Promise<T> {
    this.afterGroup = true;
    this.group = this.message ? [...this.waiting, this.message] : [...this.waiting];
    try {
      return await work();
    } finally {
      this.group = null;
    }
  }

  async during<T>(stage: Stage, work: () => Promise<T>): Promise<T> {
    this.enter(stage);
    try {
      return await work();
    } finally {
      this.enter('run');
    }
  }

  finish(): void {
    if (this.message) this.endMessage('unfinished');
    this.enter('run');
  }
}

const trackers = new AsyncLocalStorage<RunTracker>();

function cosmosOperation(request: ClientRequest, segments: string[]): string {
  if (segments[0] !== 'dbs') return 'account (SDK metadata)';
  const collection = segments[3];
  if (segments[2] !== 'colls' || !collection || segments.length === 4 || segments[4] !== 'docs') {
    return `${collection ?? 'database'} metadata (SDK)`;
  }
  if (segments.length === 6) {
    const verbs: Record<string, string> = { GET: 'read', PUT: 'replace', PATCH: 'patch', DELETE: 'delete' };
    return `${collection}.${verbs[request.method] ?? request.method}`;
  }
  if (request.method !== 'POST') return `${collection}.readFeed`;
  const header = (name: string) => String(request.getHeader(name) ?? '').toLowerCase() === 'true';
  // The SDK asks the gateway for a query plan before every query, even a single-partition one.
  if (header('x-ms-cosmos-is-query-plan-request')) return `${collection}.queryPlan`;
  if (header('x-ms-documentdb-isquery')) return `${collection}.query`;
  if (header('x-ms-documentdb-is-upsert')) return `${collection}.upsert`;
  if (header('x-ms-cosmos-is-batch-request')) return `${collection}.batch`;
  return `${collection}.create`;
}

function storageOperation(service: 'blob' | 'queue', request: ClientRequest, segments: string[]): string {
  // Path: /<account>/<container or queue>/...; the query's comp= names sub-operations (block, blocklist).
  const comp = /[?&]comp=([^&]+)/.exec(request.path)?.[1];
  const target = service === 'blob' ? (segments[1] ?? '') : (segments.at(-1) ?? '');
  return `${target} ${request.method}${comp ? ` ${comp}` : ''}`;
}

/**
 * Counts every request to the given endpoints once its response is in (or it failed), labelled with
 * its operation and, when not 2xx, its status.
 */
export function countRequests(endpoints: Record<Service, string>, measurements: Measurements): void {
  const hosts = new Map(
    (Object.entries(endpoints) as Array<[Service, string]>).map(([service, url]) => [
      new URL(url).host,
      service,
    ]),
  );
  const pending = new WeakMap<
    ClientRequest,
    { tracker: RunTracker | undefined; service: Service; operation: string }
  >();
  const outside = new RunTracker(measurements, 'outside');
  subscribe('http.client.request.start', (message) => {
    const { request } = message as { request: ClientRequest };
    const service = hosts.get(String(request.getHeader('host') ?? ''));
    if (!service) return;
    const segments = (request.path.split('?')[0] ?? '').split('/').filter((s) => s !== '');
    const operation =
      service === 'cosmos'
        ? cosmosOperation(request, segments)
        : storageOperation(service, request, segments);
    pending.set(request, { tracker: trackers.getStore(), service, operation });
  });
  const settle = (request: ClientRequest, status: string) => {
    const started = pending.get(request);
    if (!started) return;
    pending.delete(request);
    if (!request.reusedSocket) measurements.requests[started.service].newConnections++;
    const operation = status.startsWith('2') ? started.operation : `${started.operation} ${status}`;
    (started.tracker ?? outside).count(started.service, operation);
  };
  subscribe('http.client.response.finish', (message) => {
    const { request, response } = message as { request: ClientRequest; response: IncomingMessage };
    settle(request, String(response.statusCode ?? 0));
  });
  subscribe('http.client.request.error', (message) => {
    const { request } = message as { request: ClientRequest };
    settle(request, 'error');
  });
}

const NEXT_STAGE: Partial<Record<ImportStep, Stage>> = {
  fetched: 'parse',
  parsed: 'decide',
  planned: 'write',
  stored: 'finish',
};

function trackedMailSource(source: MailSource, tracker: RunTracker): MailSource {
  return {
    async *listMessages(mailbox, options, signal) {
      tracker.enter('list');
      for await (const page of source.listMessages(mailbox, options, signal)) {
        tracker.enter('run');
        yield page;
      }
      tracker.enter('run');
    },
    deltaMessages: (mailbox, start, signal) =>
      tracker.during('list', () => source.deltaMessages(mailbox, start, signal)),
    fetchMime: (userId: string, messageId: string, signal?: AbortSignal): Promise<Readable> => {
      // Once a message is parsed this is the next one, read ahead: its stages count from its turn.
      if (tracker.fetchingOwn) tracker.enter('fetch');
      return source.fetchMime(userId, messageId, signal);
    },
    applyOperations: (userId, operations, signal) =>
      tracker.during('postProcess', () => source.applyOperations(userId, operations, signal)),
    resolveFolder: (userId, folder, signal) => source.resolveFolder(userId, folder, signal),
    ensureFolder: (userId, displayName, signal) => source.ensureFolder(userId, displayName, signal),
    sendMime: (userId, mime, signal) => source.sendMime(userId, mime, signal),
    mailboxAddress: (userId, signal) => source.mailboxAddress(userId, signal),
    sentMessageExists: (userId, id, signal) => source.sentMessageExists(userId, id, signal),
  };
}

function trackedRecords(records: MailRecordStore, tracker: RunTracker): MailRecordStore {
  return {
    get: (key, messageKey) => records.get(key, messageKey),
    create: (record) => records.create(record),
    replace: (record, etag) => records.replace(record, etag),
    replaceGroup: (entries) => tracker.groupWrite(() => records.replaceGroup(entries)),
    withState: (helpdeskId, mailboxIds, state) => records.withState(helpdeskId, mailboxIds, state),
    page: (query) => records.page(query),
    countNeedingAttention: (helpdeskId, mailboxId) => records.countNeedingAttention(helpdeskId, mailboxId),
  };
}

/**
 * Instruments the app's services in place (the functions get them from `appServices()`) and returns
 * the function definitions with their handlers run under a tracker.
 */
export function instrument(
  services: AppServices,
  functions: FunctionDefinition[],
  measurements: Measurements,
): FunctionDefinition[] {
  const dependencies = services.dependencies;
  const telemetry = services.telemetry;
  services.dependencies = (log): ImportDependencies => {
    const deps = dependencies(log);
    const tracker = trackers.getStore();
    if (!tracker) return deps;
    return {
      ...deps,
      mailSource: trackedMailSource(deps.mailSource, tracker),
      records: trackedRecords(deps.records, tracker),
      tickets: new Proxy(deps.tickets, {
        get: (target, property) => {
          const value: unknown = Reflect.get(target, property);
          if (typeof value !== 'function') return value;
          if (property === 'rememberMessageIdsOfGroup') {
            return (...args: unknown[]) => tracker.groupWrite(() => value.apply(target, args));
          }
          return value.bind(target);
        },
      }),
      checkpoint: (step) => {
        if (step === 'started') tracker.startMessage();
        if (step === 'parsed') tracker.parsedMessage();
        const stage = NEXT_STAGE[step];
        if (stage) tracker.enter(stage);
        return deps.checkpoint(step);
      },
    };
  };
  services.telemetry = (context: InvocationContext): ImportTelemetry => {
    const base = telemetry(context);
    const tracker = trackers.getStore();
    return {
      messageOutcome: (record) => {
        tracker?.endMessage(record.outcome);
        base.messageOutcome(record);
      },
      mailboxRun: (summary) => base.mailboxRun(summary),
    };
  };
  return functions.map((definition): FunctionDefinition => {
    if (definition.trigger === 'queue' && definition.name === 'importMailbox') {
      return {
        ...definition,
        handler: (message: unknown, context: InvocationContext) => {
          const tracker = new RunTracker(measurements, 'run');
          measurements.runs++;
          return trackers
            .run(tracker, () => definition.handler(message, context))
            .finally(() => tracker.finish());
        },
      };
    }
    if (definition.trigger === 'timer') {
      return {
        ...definition,
        handler: (timer: Timer, context: InvocationContext) =>
          trackers.run(new RunTracker(measurements, 'poll'), () => definition.handler(timer, context)),
      };
    }
    return definition;
  });
}
