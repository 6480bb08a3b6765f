import type { HttpRequest, InvocationContext, Timer } from '@azure/functions';
import { QueueServiceClient } from '@azure/storage-queue';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type HostJson, type LocalHost, startLocalHost } from '../../local/host.js';
import type { FunctionDefinition } from '../../shared/host/functionDefinition.js';
import { testEnvironment } from '../support/testEnvironment.js';

const env = testEnvironment();
const jobQueue = env.IMPORT_QUEUE_NAME ?? '';
const failQueue = `${jobQueue}-fail`;
const hostEnv = { ...env, TICK_SCHEDULE: '* * * * * *', FAIL_QUEUE: failQueue };
const hostJson: HostJson = {
  version: '2.0',
  extensions: {
    queues: {
      maxPollingInterval: '00:00:00.5',
      visibilityTimeout: '00:00:01',
      batchSize: 4,
      maxDequeueCount: 3,
      messageEncoding: 'base64',
    },
  },
};

const queues = QueueServiceClient.fromConnectionString(env.AzureWebJobsStorage ?? '');

function base64(text: string): string {
  return Buffer.from(text).toString('base64');
}

interface Call {
  payload: unknown;
  context: InvocationContext;
}

const ticks: { timer: Timer; context: InvocationContext }[] = [];
const jobs: Call[] = [];
const failures: Call[] = [];
const poisoned: Call[] = [];

const definitions: FunctionDefinition[] = [
  {
    trigger: 'timer',
    name: 'tick',
    schedule: '%TICK_SCHEDULE%',
    handler: async (timer, context) => {
      ticks.push({ timer, context });
    },
  },
  {
    trigger: 'timer',
    name: 'brokenTimer',
    schedule: '0 0 0 1 1 *',
    handler: async () => {
      throw new Error('timer broke');
    },
  },
  {
    trigger: 'queue',
    name: 'job',
    queueName: '%IMPORT_QUEUE_NAME%',
    connection: 'AzureWebJobsStorage',
    handler: async (payload, context) => {
      jobs.push({ payload, context });
    },
  },
  {
    trigger: 'queue',
    name: 'alwaysFails',
    queueName: '%FAIL_QUEUE%',
    connection: 'AzureWebJobsStorage',
    handler: async (payload, context) => {
      failures.push({ payload, context });
      throw new Error('cannot handle this');
    },
  },
  {
    trigger: 'queue',
    name: 'poison',
    queueName: '%FAIL_QUEUE%-poison',
    connection: 'AzureWebJobsStorage',
    handler: async (payload, context) => {
      poisoned.push({ payload, context });
    },
  },
  {
    trigger: 'http',
    name: 'getItem',
    methods: ['GET'],
    route: 'items/{id}',
    authLevel: 'function',
    handler: async (request: HttpRequest) => ({
      jsonBody: { id: request.params.id, q: request.query.get('q'), tags: request.query.getAll('tag') },
    }),
  },
  {
    trigger: 'http',
    name: 'postItem',
    methods: ['POST', 'PUT'],
    route: 'items/{id}',
    authLevel: 'function',
    handler: async (request: HttpRequest) => ({
      status: 201,
      headers: { 'x-item': request.params.id ?? '', 'content-type': 'text/plain' },
      body: `${request.method} ${request.headers.get('content-type')} ${await request.text()}`,
    }),
  },
  {
    trigger: 'http',
    name: 'things',
    methods: ['GET'],
    route: 'things/{name?}',
    authLevel: 'anonymous',
    handler: async (request: HttpRequest) => ({ body: `name=${request.params.name ?? ''}` }),
  },
  {
    trigger: 'http',
    name: 'image',
    methods: ['GET'],
    route: 'images/{name}',
    authLevel: 'anonymous',
    handler: async () => ({
      headers: { 'content-type': 'image/png' },
      body: Buffer.from([0x89, 0x50, 0, 255]),
    }),
  },
  {
    trigger: 'http',
    name: 'boom',
    methods: ['GET'],
    route: 'boom',
    authLevel: 'anonymous',
    handler: async (_request, context) => {
      context.error('about to fail');
      throw new Error('handler exploded');
    },
  },
];

let host: LocalHost;
const lines: string[] = [];

beforeAll(async () => {
  host = await startLocalHost({
    functions: definitions,
    env: hostEnv,
    hostJson,
    httpPort: 0,
    runTimersAtStart: true,
    log: (line) => lines.push(line),
  });
});
afterAll(() => host?.stop());

describe('timers', () => {
  it('run once at start and then on their six-field schedule', async () => {
    await vi.waitFor(() => expect(ticks.length).toBeGreaterThanOrEqual(3), { timeout: 5_000, interval: 100 });
    const [first] = ticks;
    expect(first?.timer.isPastDue).toBe(false);
    expect(Date.parse(first?.timer.scheduleStatus.next ?? '')).toBeGreaterThan(
      Date.parse(first?.timer.scheduleStatus.last ?? ''),
    );
    expect(first?.context.functionName).toBe('tick');
    expect(first?.context.invocationId).toMatch(/^[0-9a-f-]{36}$/);
    expect(lines.some((line) => /^tick: succeeded in \d+ ms$/.test(line))).toBe(true);
    expect(
      lines.some((line) => line.startsWith('brokenTimer: failed in') && line.endsWith('timer broke')),
    ).toBe(true);
  });

  it('run on demand, passing the handler error on', async () => {
    const before = ticks.length;
    await host.runTimer('tick');
    expect(ticks.length).toBeGreaterThan(before);
    await expect(host.runTimer('brokenTimer')).rejects.toThrow('timer broke');
    await expect(host.runTimer('noSuchTimer')).rejects.toThrow(/noSuchTimer/);
  });
});

describe('queues', () => {
  it('decode base64, parse JSON objects, pass trigger metadata, and delete handled messages', async () => {
    const queue = queues.getQueueClient(jobQueue);
    await queue.sendMessage(base64(JSON.stringify({ helpdeskId: 'desk', mailboxId: 'main' })));
    await queue.sendMessage(base64('just text'));
    await host.drainQueues();

    expect(jobs.map((job) => job.payload)).toEqual(
      expect.arrayContaining([{ helpdeskId: 'desk', mailboxId: 'main' }, 'just text']),
    );
    expect(jobs).toHaveLength(2);
    const metadata = jobs[0]?.context.triggerMetadata;
    expect(metadata).toMatchObject({
      dequeueCount: 1,
      id: expect.any(String),
      popReceipt: expect.any(String),
    });
    expect(Number.isNaN(Date.parse(String(metadata?.insertionTime)))).toBe(false);
    expect(Number.isNaN(Date.parse(String(metadata?.expirationTime)))).toBe(false);
    expect(Number.isNaN(Date.parse(String(metadata?.nextVisibleTime)))).toBe(false);
    expect((await queue.getProperties()).approximateMessagesCount).toBe(0);
    expect(lines.some((line) => /^job: succeeded in \d+ ms \(message .+, attempt 1\/3\)$/.test(line))).toBe(
      true,
    );
  });

  it('retry a failing message after visibilityTimeout, then move it to -poison after maxDequeueCount', async () => {
    const started = Date.now();
    await queues.getQueueClient(failQueue).sendMessage(base64(JSON.stringify({ attempt: 'me' })));
    await host.drainQueues();

    expect(failures.map((call) => call.context.triggerMetadata?.dequeueCount)).toEqual([1, 2, 3]);
    // Two retries, each after the one-second visibilityTimeout.
    expect(Date.now() - started).toBeGreaterThanOrEqual(2_000);
    // The poison function decodes the moved message like any other: it was moved still encoded.
    expect(poisoned.map((call) => call.payload)).toEqual([{ attempt: 'me' }]);
    expect((await queues.getQueueClient(failQueue).getProperties()).approximateMessagesCount).toBe(0);
    expect(
      (await queues.getQueueClient(`${failQueue}-poison`).getProperties()).approximateMessagesCount,
    ).toBe(0);
    expect(lines.filter((line) => line.startsWith('alwaysFails: failed in'))).toEqual([
      expect.stringMatching(/attempt 1\/3\), retry in 1 s: cannot handle this$/),
      expect.stringMatching(/attempt 2\/3\), retry in 1 s: cannot handle this$/),
      expect.stringMatching(new RegExp(`attempt 3/3\\), moved to ${failQueue}-poison: cannot handle this$`)),
    ]);
  });
});

describe('HTTP', () => {
  const api = (path: string) => `${host.httpUrl}/api/${path}`;

  it('routes by path and method, with route parameters and the query string', async () => {
    const response = await fetch(api('items/42?q=printer&tag=a&tag=b'));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(await response.json()).toEqual({ id: '42', q: 'printer', tags: ['a', 'b'] });

    const posted = await fetch(api('items/7'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"title":"x"}',
    });
    expect(posted.status).toBe(201);
    expect(posted.headers.get('x-item')).toBe('7');
    expect(await posted.text()).toBe('POST application/json {"title":"x"}');

    expect(await (await fetch(api('ITEMS/a%20b'))).json()).toMatchObject({ id: 'a b' });
    expect(lines.some((line) => /^getItem: GET \/api\/items\/42 → 200 in \d+ ms$/.test(line))).toBe(true);
  });

  it('fills optional parameters when present and leaves them out otherwise', async () => {
    expect(await (await fetch(api('things'))).text()).toBe('name=');
    expect(await (await fetch(api('things/bob'))).text()).toBe('name=bob');
  });

  it('writes binary bodies unchanged', async () => {
    const response = await fetch(api('images/logo.png'));
    expect(response.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await response.arrayBuffer())).toEqual(Buffer.from([0x89, 0x50, 0, 255]));
  });

  it('answers 404 for unknown routes, 405 for a known route with another method, 500 when the handler throws', async () => {
    expect((await fetch(api('nothing/here'))).status).toBe(404);
    expect((await fetch(api('items/1/extra'))).status).toBe(404);
    expect((await fetch(`${host.httpUrl}/items/1`)).status).toBe(404);
    const wrongMethod = await fetch(api('items/1'), { method: 'DELETE' });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('GET, POST, PUT');
    expect((await fetch(api('boom'))).status).toBe(500);
    expect(lines).toContain('[boom] error: about to fail');
    expect(
      lines.some(
        (line) => line.startsWith('boom: GET /api/boom failed in') && line.endsWith('handler exploded'),
      ),
    ).toBe(true);
  });
});

describe('settings and stopping', () => {
  it('resolves a left-out setting to the app default and refuses an unknown one', async () => {
    const timer = (schedule: string): FunctionDefinition => ({
      trigger: 'timer',
      name: 'lonely',
      schedule,
      handler: async () => {},
    });
    const other = await startLocalHost({
      functions: [timer('%IMPORT_SCHEDULE%')],
      env: {},
      hostJson: {},
      httpPort: 0,
    });
    await other.stop();
    await expect(
      startLocalHost({ functions: [timer('%NO_SUCH_SETTING%')], env: {}, hostJson: {}, httpPort: 0 }),
    ).rejects.toThrow('lonely: app setting NO_SUCH_SETTING is not set');
  });

  it('refuses to start on an HTTP port in use', async () => {
    const port = Number(new URL(host.httpUrl).port);
    await expect(
      startLocalHost({ functions: definitions, env: hostEnv, hostJson, httpPort: port }),
    ).rejects.toThrow(/EADDRINUSE/);
  });

  it('stops triggering: HTTP closes and timers stop', async () => {
    await host.stop();
    const ticksAtStop = ticks.length;
    await expect(fetch(host.httpUrl)).rejects.toThrow();
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(ticks.length).toBe(ticksAtStop);
  });
});
