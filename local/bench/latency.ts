/**
 * `npm run bench -- --latency`: how long a mail takes from delivery to its ticket (or supplement) being
 * stored, with Graph change notifications and with polling alone. The functions run in this process on
 * the local host (timer, queue and HTTP triggers as the Functions host runs them); the Graph emulator
 * posts its notifications to the host's notifications function.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { allFunctions } from '../../functions/definitions.js';
import { maintainSubscriptionsFunction } from '../../functions/maintainSubscriptions.js';
import { readEnvironment } from '../../shared/config/environment.js';
import { container } from '../../shared/cosmos/containers.js';
import { connectCosmos } from '../../shared/cosmos/cosmosClient.js';
import { mailboxKey } from '../../shared/import/mailRecord.js';
import { freePort } from '../freePort.js';
import type { GraphEmulator } from '../graph-emulator/index.js';
import { type LocalHost, startLocalHost } from '../host.js';
import { mailboxCorpus } from './corpus.js';

export interface LatencyStats {
  mails: number;
  p50Ms: number;
  p95Ms: number;
  maxMs: number;
}

export interface LatencyResults {
  notifications: LatencyStats;
  polling: LatencyStats;
  /** Mail delivered per second, steadily, in each mode. */
  ratePerSecond: number;
  /** The timer's schedule in both modes: every tick polls without notifications, only the safety net with. */
  pollingSchedule: string;
}

export interface LatencyOptions {
  graph: GraphEmulator;
  /** The stack's settings plus a database and queue of their own (provisioned). */
  env: Record<string, string>;
  mails: number;
  ratePerSecond: number;
  seed: number;
  /** Stores a helpdesk with one mailbox (user id) and its contacts. */
  seedHelpdesk: (helpdeskId: string, userId: string) => Promise<void>;
  log: (line: string) => void;
}

/** Polling in the bench ticks every 10 s (the product's default is 5 minutes) to keep the run short. */
const POLLING_SCHEDULE = '*/10 * * * * *';
/** The subscription timer is fired by hand, for the notified mailbox only. */
const NEVER = '0 0 0 1 1 *';
const OBSERVE_EVERY_MS = 50;
const TIMEOUT_MS = 120_000;
const REPO_ROOT = path.resolve(import.meta.dirname, '..', '..');

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: number[], share: number): number {
  return sorted[Math.max(0, Math.ceil(share * sorted.length) - 1)] ?? 0;
}

export function latencyStats(latenciesMs: number[]): LatencyStats {
  const sorted = [...latenciesMs].sort((a, b) => a - b);
  return {
    mails: sorted.length,
    p50Ms: Math.round(percentile(sorted, 0.5)),
    p95Ms: Math.round(percentile(sorted, 0.95)),
    maxMs: Math.round(sorted.at(-1) ?? 0),
  };
}

/**
 * Delivers `mails` at a steady rate into the mailbox and watches its records: the time from each
 * delivery to the moment its record says stored.
 */
async function measure(
  options: LatencyOptions,
  helpdeskId: string,
  userId: string,
  corpusIndex: number,
): Promise<LatencyStats> {
  const environment = readEnvironment(options.env);
  const records = container(
    connectCosmos({
      endpoint: environment.COSMOS_ENDPOINT,
      database: environment.COSMOS_DATABASE,
      key: environment.COSMOS_KEY ?? '',
    }),
    'mail',
  );
  const corpus = await mailboxCorpus(options.seed, corpusIndex, helpdeskId, userId, options.mails);
  const deliveredAt = new Map<string, number>();
  const latencies = new Map<string, number>();
  const partition = mailboxKey(helpdeskId, 'main');
  let delivering = true;
  const observer = (async () => {
    const deadline = Date.now() + TIMEOUT_MS;
    while (delivering || latencies.size < deliveredAt.size) {
      if (Date.now() > deadline) throw new Error(`${helpdeskId}: not every mail was stored in time`);
      const { resources } = await records.items
        .query<{ graphMessageId: string; state: string }>(
          {
            query:
              'SELECT c.graphMessageId, c.state FROM c WHERE c.state IN ("stored", "flagged", "skipped")',
          },
          { partitionKey: partition },
        )
        .fetchAll();
      const now = Date.now();
      for (const { graphMessageId } of resources) {
        const delivered = deliveredAt.get(graphMessageId);
        if (delivered !== undefined && !latencies.has(graphMessageId))
          latencies.set(graphMessageId, now - delivered);
      }
      await sleep(OBSERVE_EVERY_MS);
    }
  })();
  const started = Date.now();
  for (const [index, mail] of corpus.mails.entries()) {
    await sleep(Math.max(0, started + (index * 1000) / options.ratePerSecond - Date.now()));
    deliveredAt.set(options.graph.deliver(userId, mail.raw), Date.now());
  }
  delivering = false;
  await observer;
  return latencyStats([...latencies.values()]);
}

export async function measureLatency(options: LatencyOptions): Promise<LatencyResults> {
  const port = await freePort();
  const env = {
    ...options.env,
    IMPORT_SCHEDULE: POLLING_SCHEDULE,
    NOTIFICATION_URL: `http://127.0.0.1:${port}/api/notifications`,
    NOTIFICATION_CLIENT_STATE_SECRET: randomBytes(32).toString('base64url'),
  };
  // The functions read their settings from the process environment, as in the Functions host.
  Object.assign(process.env, env);
  let host: LocalHost | undefined;
  try {
    host = await startLocalHost({
      functions: allFunctions.map((definition) =>
        definition.name === maintainSubscriptionsFunction.name
          ? { ...definition, schedule: NEVER }
          : definition,
      ),
      env,
      hostJson: JSON.parse(await readFile(path.join(REPO_ROOT, 'host.json'), 'utf8')),
      httpPort: port,
    });

    await options.seedHelpdesk('latency-notified', 'notified@bench.test');
    options.graph.addMailbox('notified@bench.test');
    await host.runTimer(maintainSubscriptionsFunction.name);
    if (options.graph.subscriptions().length !== 1)
      throw new Error('the notified mailbox got no subscription');
    options.log(`latency: ${options.mails} mails at ${options.ratePerSecond}/s with change notifications…`);
    const notifications = await measure(options, 'latency-notified', 'notified@bench.test', 1_000);

    await options.seedHelpdesk('latency-polled', 'polled@bench.test');
    options.graph.addMailbox('polled@bench.test');
    options.log(
      `latency: ${options.mails} mails at ${options.ratePerSecond}/s, polling (${POLLING_SCHEDULE})…`,
    );
    const polling = await measure(options, 'latency-polled', 'polled@bench.test', 2_000);
    return {
      notifications,
      polling,
      ratePerSecond: options.ratePerSecond,
      pollingSchedule: POLLING_SCHEDULE,
    };
  } finally {
    await host?.stop();
  }
}
