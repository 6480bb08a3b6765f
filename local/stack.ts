/**
 * The local stack: Azurite (queues, blobs, tables) and the Cosmos DB emulator as child processes, and the
 * Microsoft Graph mailbox emulator in this process, all on free loopback ports and in memory.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { type GraphEmulator, type GraphEmulatorOptions, startGraphEmulator } from './graph-emulator/index.js';

export interface LocalStackOptions {
  /** Start the Graph mailbox emulator too (default true). */
  graph?: boolean;
  log?: (line: string) => void;
}

export interface LocalStack {
  /** App settings pointing at the emulators. */
  env: Record<string, string>;
  graph: GraphEmulator | null;
  /** Process ids of the emulators, e.g. to measure their memory apart from the importer's. */
  processes: { azurite: number; cosmos: number };
  /** Stops everything; calling it again is harmless. */
  stop(): Promise<void>;
}

export interface LocalGraph {
  graph: GraphEmulator;
  /** GRAPH_BASE_URL, GRAPH_ACCESS_TOKEN and GRAPH_CA_CERT_PATH for the emulator. */
  env: Record<string, string>;
  close(): Promise<void>;
}

// Well-known, public development keys of Azurite and the Cosmos DB emulator.
const AZURITE_ACCOUNT = 'devstoreaccount1';
const AZURITE_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';
const COSMOS_EMULATOR_KEY =
  'C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw==';
const GRAPH_EMULATOR_TOKEN = 'local-emulator-token';

const STARTUP_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 3_000;

const require = createRequire(import.meta.url);
const AZURITE_ENTRY = require.resolve('azurite/dist/src/azurite.js');
const COSMOS_ENTRY = path.join(import.meta.dirname, 'cosmos-server.mjs');

/**
 * Preloaded into every child: it exits once its stdin pipe closes, which happens when this process dies
 * without running its 'exit' handlers (SIGKILL, a crash). The socket is unref'd so it never keeps a
 * child alive on its own.
 */
const EXIT_WITH_PARENT = `data:text/javascript,${encodeURIComponent(
  "import { Socket } from 'node:net'; const quit = () => process.exit(0);" +
    'new Socket({ fd: 0, readable: true, writable: false }).on("end", quit).on("error", quit).resume().unref();',
)}`;

const liveChildren = new Set<ChildProcess>();
let exitHookInstalled = false;

function track(child: ChildProcess): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const running of liveChildren) running.kill('SIGKILL');
    });
  }
  liveChildren.add(child);
  child.once('exit', () => liveChildren.delete(child));
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const forceKill = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
  await exited;
  clearTimeout(forceKill);
}

/** Spawns `node <args>` and resolves once `ready` recognises the output lines it needs. */
function startChild<T>(
  name: string,
  args: string[],
  cwd: string,
  log: (line: string) => void,
  ready: (line: string) => T | undefined,
): Promise<{ child: ChildProcess; pid: number; value: T }> {
  const child = spawn(process.execPath, ['--import', EXIT_WITH_PARENT, ...args], {
    cwd,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  track(child);
  return new Promise((resolve, reject) => {
    let settled = false;
    const recent: string[] = [];
    const fail = (error: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timeout);
      void stopChild(child).finally(() => reject(error));
    };
    const timeout = setTimeout(
      () =>
        fail(new Error(`${name} did not start within ${STARTUP_TIMEOUT_MS / 1000} s: ${recent.join(' | ')}`)),
      STARTUP_TIMEOUT_MS,
    );
    const onLine = (line: string) => {
      log(`[${name}] ${line}`);
      if (settled) return;
      recent.push(line);
      const value = ready(line);
      if (value === undefined) return;
      if (child.pid === undefined) return fail(new Error(`${name} has no process id`));
      settled = true;
      clearTimeout(timeout);
      resolve({ child, pid: child.pid, value });
    };
    if (child.stdout) createInterface({ input: child.stdout }).on('line', onLine);
    if (child.stderr) createInterface({ input: child.stderr }).on('line', onLine);
    child.once('error', fail);
    child.once('exit', (code, signal) =>
      fail(new Error(`${name} exited (${signal ?? code}) before it was ready: ${recent.join(' | ')}`)),
    );
  });
}

function startAzurite(cwd: string, log: (line: string) => void) {
  const urls = new Map<string, string>();
  return startChild(
    'azurite',
    [
      AZURITE_ENTRY,
      '--skipApiVersionCheck',
      '--inMemoryPersistence',
      '--disableTelemetry',
      '--silent',
      ...['blob', 'queue', 'table'].flatMap((service) => [
        `--${service}Host`,
        '127.0.0.1',
        `--${service}Port`,
        '0',
      ]),
    ],
    cwd,
    log,
    (line) => {
      const match = /Azurite (Blob|Queue|Table) service is successfully listening at (http:\/\/\S+)/.exec(
        line,
      );
      if (match?.[1] && match[2]) urls.set(match[1], match[2]);
      const [blob, queue, table] = [urls.get('Blob'), urls.get('Queue'), urls.get('Table')];
      return blob && queue && table ? { blob, queue, table } : undefined;
    },
  );
}

function startCosmos(cwd: string, log: (line: string) => void) {
  return startChild('cosmosdb-server', [COSMOS_ENTRY], cwd, log, (line) => {
    const port = /listening on port (\d+)/.exec(line)?.[1];
    return port ? Number(port) : undefined;
  });
}

/** A Graph mailbox emulator plus the settings that make the app use it (its CA certificate in a temp file). */
export async function startLocalGraph(options: GraphEmulatorOptions = {}): Promise<LocalGraph> {
  const graph = await startGraphEmulator(options);
  try {
    const directory = await mkdtemp(path.join(os.tmpdir(), 'helpdesk-graph-'));
    const caCertPath = path.join(directory, 'graph-emulator-ca.pem');
    await writeFile(caCertPath, graph.caCertPem);
    return {
      graph,
      env: {
        GRAPH_BASE_URL: graph.url,
        GRAPH_ACCESS_TOKEN: GRAPH_EMULATOR_TOKEN,
        GRAPH_CA_CERT_PATH: caCertPath,
      },
      close: async () => {
        await graph.close();
        await rm(directory, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await graph.close();
    throw error;
  }
}

export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const log = options.log ?? (() => {});
  // Working directory of the children: Azurite writes nothing with in-memory persistence, but if it
  // ever did, it should not be into the repo.
  const workDir = os.tmpdir();
  const [azurite, cosmos, graph] = await Promise.allSettled([
    startAzurite(workDir, log),
    startCosmos(workDir, log),
    options.graph === false ? Promise.resolve(null) : startLocalGraph(),
  ]);

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      await Promise.all([
        azurite.status === 'fulfilled' ? stopChild(azurite.value.child) : undefined,
        cosmos.status === 'fulfilled' ? stopChild(cosmos.value.child) : undefined,
        graph.status === 'fulfilled' ? graph.value?.close() : undefined,
      ]);
    })();
    return stopping;
  };

  if (azurite.status === 'rejected' || cosmos.status === 'rejected' || graph.status === 'rejected') {
    await stop();
    const failed = [azurite, cosmos, graph].find((result) => result.status === 'rejected');
    throw failed?.reason;
  }

  const { blob, queue, table } = azurite.value.value;
  const storage = [
    'DefaultEndpointsProtocol=http',
    `AccountName=${AZURITE_ACCOUNT}`,
    `AccountKey=${AZURITE_KEY}`,
    `BlobEndpoint=${blob}/${AZURITE_ACCOUNT}`,
    `QueueEndpoint=${queue}/${AZURITE_ACCOUNT}`,
    `TableEndpoint=${table}/${AZURITE_ACCOUNT}`,
  ].join(';');
  const env: Record<string, string> = {
    AzureWebJobsStorage: `${storage};`,
    COSMOS_ENDPOINT: `https://127.0.0.1:${cosmos.value.value}`,
    COSMOS_KEY: COSMOS_EMULATOR_KEY,
    // Local runs have no App Service authentication and only emulated mailboxes.
    MANAGEMENT_AUTH: 'none',
    ALLOWED_MAILBOXES: '*',
    ...graph.value?.env,
  };
  log(
    `local stack: Azurite ${queue} (queues) ${blob} (blobs), Cosmos DB ${env.COSMOS_ENDPOINT}` +
      (graph.value ? `, Graph ${graph.value.graph.url}` : ''),
  );
  return {
    env,
    graph: graph.value?.graph ?? null,
    processes: { azurite: azurite.value.pid, cosmos: cosmos.value.pid },
    stop,
  };
}
