/**
 * Runs the app's function definitions the way the Azure Functions host does, without Core Tools: timers
 * on their NCRONTAB schedule, Storage queue triggers with host.json's batching, retries and poison queue,
 * and HTTP routes below /api (no function key, like `func start`).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { format } from 'node:util';
// Default import: this CommonJS bundle's classes are no named exports for Node's ESM loader.
import azureFunctions, { type InvocationContext, type Timer, type TriggerMetadata } from '@azure/functions';
import { type QueueClient, QueueServiceClient, type ReceivedMessageItem } from '@azure/storage-queue';
import { Cron } from 'croner';
import { z } from 'zod';
import { environmentSchema } from '../shared/config/environment.js';
import type {
  FunctionDefinition,
  HttpFunction,
  QueueFunction,
  TimerFunction,
} from '../shared/host/functionDefinition.js';

/** A .NET TimeSpan as host.json writes it ("[d.]hh:mm:ss[.fff]"), in milliseconds. */
const timeSpan = z.string().transform((value, ctx) => {
  const match = /^(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2}(?:\.\d+)?)$/.exec(value);
  if (!match) {
    ctx.addIssue({ code: 'custom', message: `${value} is not a TimeSpan like 00:00:30` });
    return z.NEVER;
  }
  const [, days = '0', hours = '0', minutes = '0', seconds = '0'] = match;
  return ((Number(days) * 24 + Number(hours)) * 60 + Number(minutes)) * 60_000 + Number(seconds) * 1000;
});

// Defaults are the Functions host's own, for settings host.json leaves out.
const hostJsonSchema = z.looseObject({
  extensions: z
    .looseObject({
      http: z.looseObject({ routePrefix: z.string().default('api') }).prefault({}),
      queues: z
        .looseObject({
          maxPollingInterval: timeSpan.prefault('00:01:00'),
          visibilityTimeout: timeSpan.prefault('00:00:00'),
          batchSize: z.number().int().min(1).max(32).default(16),
          newBatchThreshold: z.number().int().min(0).optional(),
          maxDequeueCount: z.number().int().min(1).default(5),
          messageEncoding: z.enum(['base64', 'none']).default('base64'),
        })
        .prefault({}),
    })
    .prefault({}),
});

/** host.json as parsed from the file; only `extensions.queues` and `extensions.http` matter here. */
export type HostJson = z.input<typeof hostJsonSchema>;
type QueueSettings = z.output<typeof hostJsonSchema>['extensions']['queues'];

export interface LocalHostOptions {
  functions: FunctionDefinition[];
  /** App settings: `%SETTING%` values and the queue connection come from here. */
  env: Record<string, string | undefined>;
  hostJson: HostJson;
  /** Default 7071 like `func start`; 0 picks a free port. */
  httpPort?: number;
  /** Run every timer function once at start, like `runOnStartup`. */
  runTimersAtStart?: boolean;
  log?: (line: string) => void;
}

export interface LocalHost {
  /** E.g. http://127.0.0.1:7071; routes are below `${httpUrl}/api`. */
  httpUrl: string;
  /** Stops triggering and waits for running invocations. */
  stop(): Promise<void>;
  /** Runs a timer function now; rejects with the handler's error. */
  runTimer(name: string): Promise<void>;
  /** Waits until every watched queue is empty and no invocation runs. */
  drainQueues(): Promise<void>;
}

/** The real host also receives with a 10-minute invisibility and renews it while the function runs. */
const INVISIBLE_WHILE_RUNNING_S = 600;
const RENEW_INVISIBILITY_MS = (INVISIBLE_WHILE_RUNNING_S * 1000) / 2;
const MIN_POLLING_INTERVAL_MS = 100;
const DRAIN_CHECK_MS = 100;

type Outcome<T> = { ok: true; value: T; ms: number } | { ok: false; error: unknown; ms: number };

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Like readEnvironment, a setting that is left out takes the app's default. */
function appDefault(name: string): string | undefined {
  const field = Object.entries(environmentSchema.shape).find(([key]) => key === name)?.[1];
  const parsed = field?.safeParse(undefined);
  return parsed?.success && parsed.data !== undefined ? String(parsed.data) : undefined;
}

function resolveSettings(value: string, env: LocalHostOptions['env'], functionName: string): string {
  return value.replace(/%([^%]+)%/g, (_, name: string) => {
    const setting = env[name] || appDefault(name);
    if (setting === undefined) throw new Error(`${functionName}: app setting ${name} is not set`);
    return setting;
  });
}

/** The real host passes JSON objects and arrays parsed, anything else as the string. */
function decodeMessage(text: string, encoding: QueueSettings['messageEncoding']): unknown {
  const content = encoding === 'base64' ? Buffer.from(text, 'base64').toString('utf8') : text;
  const trimmed = content.trim();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    try {
      return JSON.parse(trimmed);
    } catch {
      // Not JSON after all: the function gets the string.
    }
  }
  return content;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

interface Invoker {
  run<T>(
    functionName: string,
    triggerMetadata: TriggerMetadata | undefined,
    call: (context: InvocationContext) => Promise<T>,
  ): Promise<Outcome<T>>;
  log(line: string): void;
}

class QueuePoller {
  receiving = false;
  private stopped = false;
  private wakeUp: (() => void) | undefined;
  private readonly running = new Set<Promise<void>>();
  private poisonReady: Promise<unknown> | undefined;
  readonly done: Promise<void>;

  constructor(
    private readonly definition: QueueFunction,
    private readonly queue: QueueClient,
    private readonly poison: QueueClient,
    private readonly settings: QueueSettings,
    private readonly invoker: Invoker,
  ) {
    this.done = this.poll();
  }

  stop(): void {
    this.stopped = true;
    this.wake();
  }

  /** Ends the current back-off so the queue is polled now. */
  wake(): void {
    this.wakeUp?.();
  }

  async approximateCount(): Promise<number> {
    return (await this.queue.getProperties()).approximateMessagesCount ?? 0;
  }

  private async poll(): Promise<void> {
    const newBatchThreshold = this.settings.newBatchThreshold ?? Math.floor(this.settings.batchSize / 2);
    let interval = MIN_POLLING_INTERVAL_MS;
    while (!this.stopped) {
      if (this.running.size > newBatchThreshold) {
        await Promise.race(this.running);
        continue;
      }
      let messages: ReceivedMessageItem[] = [];
      this.receiving = true;
      try {
        const response = await this.queue.receiveMessages({
          numberOfMessages: this.settings.batchSize,
          visibilityTimeout: INVISIBLE_WHILE_RUNNING_S,
        });
        messages = response.receivedMessageItems;
      } catch (error) {
        this.invoker.log(`${this.definition.name}: polling ${this.queue.name} failed: ${errorText(error)}`);
      } finally {
        this.receiving = false;
      }
      for (const message of messages) this.start(message);
      if (messages.length > 0) {
        interval = MIN_POLLING_INTERVAL_MS;
        continue;
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, interval);
        this.wakeUp = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wakeUp = undefined;
      interval = Math.min(interval * 2, Math.max(this.settings.maxPollingInterval, MIN_POLLING_INTERVAL_MS));
    }
    await Promise.all(this.running);
  }

  private start(message: ReceivedMessageItem): void {
    const task = this.process(message).catch((error: unknown) => {
      this.invoker.log(`${this.definition.name}: message ${message.messageId}: ${errorText(error)}`);
    });
    this.running.add(task);
    void task.finally(() => this.running.delete(task));
  }

  private async process(message: ReceivedMessageItem): Promise<void> {
    const { name } = this.definition;
    const { maxDequeueCount } = this.settings;
    // Already past its attempts (a previous run died mid-way): straight to the poison queue, as the host does.
    if (message.dequeueCount > maxDequeueCount) {
      await this.moveToPoison(message, message.popReceipt);
      this.invoker.log(`${name}: message ${message.messageId} moved to ${this.poison.name} unprocessed`);
      return;
    }

    let popReceipt = message.popReceipt;
    let renewal = Promise.resolve();
    const renew = setInterval(() => {
      renewal = renewal
        .then(async () => {
          const updated = await this.queue.updateMessage(
            message.messageId,
            popReceipt,
            undefined,
            INVISIBLE_WHILE_RUNNING_S,
          );
          popReceipt = updated.popReceipt ?? popReceipt;
        })
        .catch((error: unknown) =>
          this.invoker.log(`${name}: keeping message invisible: ${errorText(error)}`),
        );
    }, RENEW_INVISIBILITY_MS);

    const triggerMetadata: TriggerMetadata = {
      id: message.messageId,
      dequeueCount: message.dequeueCount,
      insertionTime: message.insertedOn.toISOString(),
      expirationTime: message.expiresOn.toISOString(),
      nextVisibleTime: message.nextVisibleOn.toISOString(),
      popReceipt: message.popReceipt,
    };
    let outcome: Outcome<void>;
    try {
      outcome = await this.invoker.run(name, triggerMetadata, (context) =>
        this.definition.handler(decodeMessage(message.messageText, this.settings.messageEncoding), context),
      );
    } finally {
      clearInterval(renew);
      await renewal;
    }

    const attempt = `message ${message.messageId}, attempt ${message.dequeueCount}/${maxDequeueCount}`;
    if (outcome.ok) {
      await this.queue.deleteMessage(message.messageId, popReceipt);
      this.invoker.log(`${name}: succeeded in ${outcome.ms} ms (${attempt})`);
    } else if (message.dequeueCount >= maxDequeueCount) {
      await this.moveToPoison(message, popReceipt);
      this.invoker.log(
        `${name}: failed in ${outcome.ms} ms (${attempt}), moved to ${this.poison.name}: ${errorText(outcome.error)}`,
      );
    } else {
      const retryAfterS = Math.ceil(this.settings.visibilityTimeout / 1000);
      await this.queue.updateMessage(message.messageId, popReceipt, undefined, retryAfterS);
      this.invoker.log(
        `${name}: failed in ${outcome.ms} ms (${attempt}), retry in ${retryAfterS} s: ${errorText(outcome.error)}`,
      );
    }
  }

  /** The original text (still encoded) goes to `<queue>-poison`, as the real host does. */
  private async moveToPoison(message: ReceivedMessageItem, popReceipt: string): Promise<void> {
    this.poisonReady ??= this.poison.createIfNotExists();
    await this.poisonReady;
    await this.poison.sendMessage(message.messageText);
    await this.queue.deleteMessage(message.messageId, popReceipt);
  }
}

interface Route {
  definition: HttpFunction;
  segments: ({ literal: string } | { param: string; optional: boolean })[];
}

function compileRoute(definition: HttpFunction): Route {
  const segments = definition.route
    .split('/')
    .filter((segment) => segment !== '')
    .map((segment) => {
      const param = /^\{(\w+)(\?)?\}$/.exec(segment);
      if (param?.[1]) return { param: param[1], optional: param[2] === '?' };
      if (segment.includes('{') || segment.includes('}'))
        throw new Error(`${definition.name}: route segment ${segment} is not supported locally`);
      return { literal: segment.toLowerCase() };
    });
  return { definition, segments };
}

/** Route parameters when the path (below the route prefix) matches; literals compare case-insensitively. */
function matchRoute(route: Route, path: string[]): Record<string, string> | undefined {
  if (path.length > route.segments.length) return undefined;
  const params: Record<string, string> = {};
  for (const [index, segment] of route.segments.entries()) {
    const value = path[index];
    if (value === undefined) {
      if ('param' in segment && segment.optional) continue;
      return undefined;
    }
    if ('literal' in segment) {
      if (segment.literal !== value.toLowerCase()) return undefined;
    } else {
      params[segment.param] = value;
    }
  }
  return params;
}

function pathSegments(pathname: string, routePrefix: string): string[] | undefined {
  const segments = pathname.split('/').filter((segment) => segment !== '');
  const prefix = routePrefix.split('/').filter((segment) => segment !== '');
  if (!prefix.every((segment, index) => segments[index]?.toLowerCase() === segment.toLowerCase()))
    return undefined;
  try {
    return segments.slice(prefix.length).map((segment) => decodeURIComponent(segment));
  } catch {
    return undefined;
  }
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks);
}

function requestHeaders(request: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return headers;
}

export async function startLocalHost(options: LocalHostOptions): Promise<LocalHost> {
  const log = options.log ?? (() => {});
  const settings = hostJsonSchema.parse(options.hostJson).extensions;
  const inFlight = new Set<Promise<unknown>>();
  let invocationsStarted = 0;

  const invoker: Invoker = {
    log,
    async run<T>(
      functionName: string,
      triggerMetadata: TriggerMetadata | undefined,
      call: (context: InvocationContext) => Promise<T>,
    ): Promise<Outcome<T>> {
      const context = new azureFunctions.InvocationContext({
        invocationId: randomUUID(),
        functionName,
        triggerMetadata,
        logHandler: (level, ...args) => log(`[${functionName}] ${level}: ${format(...args)}`),
      });
      const started = performance.now();
      const elapsed = () => Math.round(performance.now() - started);
      invocationsStarted++;
      // A handler that throws before returning its promise fails like one that rejects.
      const invocation = Promise.resolve()
        .then(() => call(context))
        .then(
          (value): Outcome<T> => ({ ok: true, value, ms: elapsed() }),
          (error: unknown): Outcome<T> => ({ ok: false, error, ms: elapsed() }),
        );
      inFlight.add(invocation);
      try {
        return await invocation;
      } finally {
        inFlight.delete(invocation);
      }
    },
  };

  // Timers
  const timerFunctions = options.functions.filter((f): f is TimerFunction => f.trigger === 'timer');
  const timers = new Map<string, { definition: TimerFunction; cron: Cron; last: Date }>();
  const fireTimer = async (name: string): Promise<Outcome<void>> => {
    const entry = timers.get(name);
    if (!entry) throw new Error(`No timer function ${name}`);
    const now = new Date();
    const timer: Timer = {
      isPastDue: false,
      schedule: { adjustForDST: true },
      scheduleStatus: {
        last: entry.last.toISOString(),
        next: (entry.cron.nextRun() ?? now).toISOString(),
        lastUpdated: now.toISOString(),
      },
    };
    entry.last = now;
    const outcome = await invoker.run(name, { timer }, (context) => entry.definition.handler(timer, context));
    log(
      outcome.ok
        ? `${name}: succeeded in ${outcome.ms} ms`
        : `${name}: failed in ${outcome.ms} ms: ${errorText(outcome.error)}`,
    );
    return outcome;
  };
  for (const definition of timerFunctions) {
    const schedule = resolveSettings(definition.schedule, options.env, definition.name);
    // Six fields, seconds first, in UTC: the NCRONTAB of the Functions host (without WEBSITE_TIME_ZONE).
    const cron = new Cron(
      schedule,
      { mode: '6-part', timezone: 'Etc/UTC', protect: true, paused: true },
      () => fireTimer(definition.name).then(() => undefined),
    );
    timers.set(definition.name, { definition, cron, last: new Date() });
  }

  // Queues: created up front, as the host does, so callers can enqueue once start-up resolves.
  const queueFunctions = options.functions.filter((f): f is QueueFunction => f.trigger === 'queue');
  const queueSetups: { definition: QueueFunction; queue: QueueClient; poison: QueueClient }[] = [];
  for (const definition of queueFunctions) {
    const connection = options.env[definition.connection];
    if (!connection)
      throw new Error(`${definition.name}: ${definition.connection} needs a connection string locally`);
    const service = QueueServiceClient.fromConnectionString(connection);
    const queueName = resolveSettings(definition.queueName, options.env, definition.name);
    const queue = service.getQueueClient(queueName);
    await queue.createIfNotExists();
    queueSetups.push({ definition, queue, poison: service.getQueueClient(`${queueName}-poison`) });
  }

  // HTTP
  const routes = options.functions.filter((f): f is HttpFunction => f.trigger === 'http').map(compileRoute);
  const routePrefix = settings.http.routePrefix;
  const handleHttp = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const method = request.method ?? 'GET';
    const url = new URL(request.url ?? '/', `http://${request.headers.host ?? '127.0.0.1'}`);
    const path = pathSegments(url.pathname, routePrefix);
    const matches = path
      ? routes.flatMap((route) => {
          const params = matchRoute(route, path);
          return params ? [{ definition: route.definition, params }] : [];
        })
      : [];
    const match = matches.find((candidate) => candidate.definition.methods.some((m) => m === method));
    if (!match) {
      const allowed = [...new Set(matches.flatMap((candidate) => candidate.definition.methods))];
      response.statusCode = allowed.length > 0 ? 405 : 404;
      if (allowed.length > 0) response.setHeader('allow', allowed.join(', '));
      response.end();
      log(`${method} ${url.pathname} → ${response.statusCode}`);
      return;
    }
    const body = await readBody(request);
    const { definition, params } = match;
    const outcome = await invoker.run(definition.name, undefined, async (context) => {
      const httpRequest = new azureFunctions.HttpRequest({
        method,
        // The query comes from the URL, which keeps repeated parameters.
        url: url.href,
        headers: requestHeaders(request),
        params,
        ...(body.length > 0 ? { body: { bytes: body } } : {}),
      });
      const result = await definition.handler(httpRequest, context);
      const httpResponse =
        result instanceof azureFunctions.HttpResponse ? result : new azureFunctions.HttpResponse(result);
      return { httpResponse, bytes: Buffer.from(await httpResponse.arrayBuffer()) };
    });
    if (outcome.ok) {
      response.statusCode = outcome.value.httpResponse.status;
      for (const [name, value] of outcome.value.httpResponse.headers) response.appendHeader(name, value);
      response.end(outcome.value.bytes);
      log(`${definition.name}: ${method} ${url.pathname} → ${response.statusCode} in ${outcome.ms} ms`);
    } else {
      response.statusCode = 500;
      response.end();
      log(
        `${definition.name}: ${method} ${url.pathname} failed in ${outcome.ms} ms: ${errorText(outcome.error)}`,
      );
    }
  };
  const server = createServer((request, response) => {
    handleHttp(request, response).catch((error: unknown) => {
      log(`${request.method} ${request.url}: ${errorText(error)}`);
      if (!response.headersSent) response.statusCode = 500;
      response.end();
    });
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject).listen(options.httpPort ?? 7071, '127.0.0.1', resolve);
    });
  } catch (error) {
    for (const { cron } of timers.values()) cron.stop();
    throw error;
  }
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the HTTP server has no TCP address');
  const httpUrl = `http://127.0.0.1:${address.port}`;

  const pollers = queueSetups.map(
    ({ definition, queue, poison }) => new QueuePoller(definition, queue, poison, settings.queues, invoker),
  );
  for (const { cron } of timers.values()) cron.resume();
  if (options.runTimersAtStart) for (const name of timers.keys()) void fireTimer(name);

  const idle = () => inFlight.size === 0 && pollers.every((poller) => !poller.receiving);
  let stopping: Promise<void> | undefined;
  return {
    httpUrl,
    runTimer: async (name) => {
      const outcome = await fireTimer(name);
      if (!outcome.ok) throw outcome.error;
    },
    drainQueues: async () => {
      for (;;) {
        const started = invocationsStarted;
        if (idle()) {
          const counts = await Promise.all(pollers.map((poller) => poller.approximateCount()));
          // Nothing started meanwhile, so no invocation enqueued after its queue was counted.
          if (idle() && started === invocationsStarted && counts.every((count) => count === 0)) return;
          for (const [index, poller] of pollers.entries()) if (counts[index] !== 0) poller.wake();
        }
        await sleep(DRAIN_CHECK_MS);
      }
    },
    stop: () => {
      stopping ??= (async () => {
        for (const { cron } of timers.values()) cron.stop();
        for (const poller of pollers) poller.stop();
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        await Promise.all([closed, ...pollers.map((poller) => poller.done)]);
        await Promise.all(inFlight);
      })();
      return stopping;
    },
  };
}
