/**
 * The importer process of the benchmark: the app's functions on the local Functions host, with nothing
 * else in the process (the emulators run in the benchmark's process and in their own), so its memory
 * is the importer's. Forked by local/bench.ts; each `run` fires the timer and waits until the queue is
 * drained, then reports what it measured.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { allFunctions } from '../../functions/definitions.js';
import { appServices } from '../../shared/app/services.js';
import { type HostJson, startLocalHost } from '../host.js';
import { countRequests, instrument, Measurements } from './instrument.js';
import type { FromImporter, ImporterOptions, RunMeasurement, ToImporter } from './protocol.js';

const RSS_SAMPLE_MS = 20;
const MAX_ERRORS = 20;

function send(message: FromImporter): void {
  process.send?.(message);
}

function connectionPart(connection: string, name: string): string {
  const value = new RegExp(`(?:^|;)${name}=([^;]+)`).exec(connection)?.[1];
  if (!value) throw new Error(`the storage connection string has no ${name}`);
  return value;
}

/**
 * Resets the kernel's record of this process's peak RSS to its current RSS (Linux: "5" to clear_refs),
 * so the high-water mark after the run is the run's own peak. False where that is not possible.
 */
async function resetHighWaterMark(): Promise<boolean> {
  try {
    await writeFile('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}

function collectGarbage(): void {
  // Twice: the first pass may only queue finalizers whose memory the second frees.
  globalThis.gc?.();
  globalThis.gc?.();
}

async function main(): Promise<void> {
  const options = JSON.parse(process.argv[2] ?? '{}') as ImporterOptions;
  Object.assign(process.env, options.env);
  const storage = options.env.AzureWebJobsStorage ?? '';
  const measurements = new Measurements();
  countRequests(
    {
      cosmos: options.env.COSMOS_ENDPOINT ?? '',
      blob: connectionPart(storage, 'BlobEndpoint'),
      queue: connectionPart(storage, 'QueueEndpoint'),
    },
    measurements,
  );
  const functions = instrument(appServices(), allFunctions, measurements);
  const hostJson: HostJson = JSON.parse(
    await readFile(path.join(import.meta.dirname, '..', '..', 'host.json'), 'utf8'),
  );
  // batchSize 1 and newBatchThreshold n-1 keep exactly n invocations (mailbox runs) going at once.
  const queues = { ...hostJson.extensions?.queues, batchSize: 1, newBatchThreshold: options.concurrency - 1 };
  const errors: string[] = [];
  const host = await startLocalHost({
    functions,
    env: process.env,
    hostJson: { ...hostJson, extensions: { ...hostJson.extensions, queues } },
    httpPort: 0,
    // Warnings and errors the functions log, and invocations that failed; everything else is noise here.
    log: (line) => {
      if (errors.length < MAX_ERRORS && /\] (warning|error): |: failed in /.test(line)) errors.push(line);
    },
  });

  const run = async (): Promise<RunMeasurement> => {
    measurements.reset();
    errors.length = 0;
    collectGarbage();
    const baselineRssBytes = process.memoryUsage.rss();
    const highWaterReset = await resetHighWaterMark();
    let sampledPeak = baselineRssBytes;
    // Sampled only without the kernel's record: reading RSS every 20 ms cost about 1 % of the import's CPU.
    const sampler = highWaterReset
      ? undefined
      : setInterval(() => {
          sampledPeak = Math.max(sampledPeak, process.memoryUsage.rss());
        }, RSS_SAMPLE_MS);
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    await host.runTimer('pollMailboxes');
    await host.drainQueues();
    const wallMs = performance.now() - started;
    const cpu = process.cpuUsage(cpuBefore);
    clearInterval(sampler);
    sampledPeak = Math.max(sampledPeak, process.memoryUsage.rss());
    const highWater = process.resourceUsage().maxRSS * 1024;
    return {
      wallMs,
      runs: measurements.runs,
      outcomes: measurements.outcomes,
      stageMs: measurements.stageMs,
      cosmos: measurements.requests.cosmos,
      blob: measurements.requests.blob,
      queue: measurements.requests.queue,
      cpuMs: (cpu.user + cpu.system) / 1000,
      baselineRssBytes,
      peakRssBytes: highWaterReset ? Math.max(highWater, sampledPeak) : sampledPeak,
      peakRssSource: highWaterReset ? 'high-water mark' : 'sampled',
      errors: [...errors],
    };
  };

  // The bench went away (crashed or was interrupted): nothing is left to report to.
  process.on('disconnect', () => process.exit(1));
  process.on('message', (message: ToImporter) => {
    if (message.type === 'stop') {
      void host.stop().finally(() => process.exit(0));
      return;
    }
    run().then(
      (measurement) => send({ type: 'result', measurement }),
      (error: unknown) =>
        send({ type: 'failed', message: error instanceof Error ? error.message : String(error) }),
    );
  });
  send({ type: 'ready' });
}

main().catch((error: unknown) => {
  send({ type: 'failed', message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  process.exit(1);
});
