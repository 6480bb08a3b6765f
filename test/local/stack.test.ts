import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { Agent, get } from 'node:https';
import { connect } from 'node:net';
import { createInterface } from 'node:readline';
import { CosmosClient } from '@azure/cosmos';
import { BlobServiceClient } from '@azure/storage-blob';
import { QueueServiceClient } from '@azure/storage-queue';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type LocalStack, startLocalStack } from '../../local/stack.js';
import { readEnvironment } from '../../shared/config/environment.js';
import { testEnvironment, withGraphEmulator } from '../support/testEnvironment.js';

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function accepts(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname)
      .once('connect', () => {
        socket.destroy();
        resolve(true);
      })
      .once('error', () => resolve(false));
  });
}

function queueEndpoint(env: Record<string, string>): string {
  const endpoint = /QueueEndpoint=([^;]+)/.exec(env.AzureWebJobsStorage ?? '')?.[1];
  if (!endpoint) throw new Error('no QueueEndpoint in AzureWebJobsStorage');
  return endpoint;
}

describe('startLocalStack', () => {
  let stack: LocalStack;
  const lines: string[] = [];

  beforeAll(async () => {
    stack = await startLocalStack({ log: (line) => lines.push(line) });
  });
  afterAll(() => stack?.stop());

  it('gives app settings the app accepts, on loopback ports', async () => {
    const env = readEnvironment(stack.env);
    expect(env.AzureWebJobsStorage).toMatch(
      /^DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=.+;BlobEndpoint=http:\/\/127\.0\.0\.1:\d+\/devstoreaccount1;QueueEndpoint=http:\/\/127\.0\.0\.1:\d+\/devstoreaccount1;TableEndpoint=http:\/\/127\.0\.0\.1:\d+\/devstoreaccount1;$/,
    );
    expect(env.COSMOS_ENDPOINT).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(env.COSMOS_KEY).toBe(
      'C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw==',
    );
    expect(env.GRAPH_BASE_URL).toBe(stack.graph?.url);
    expect(env.GRAPH_ACCESS_TOKEN).toBe('local-emulator-token');
    expect(lines.some((line) => line.includes('Azurite Queue service is successfully listening'))).toBe(true);
  });

  it('round-trips a queue message and a blob through Azurite', async () => {
    const connection = stack.env.AzureWebJobsStorage ?? '';
    const queue = QueueServiceClient.fromConnectionString(connection).getQueueClient('stack-test');
    await queue.createIfNotExists();
    await queue.sendMessage(Buffer.from('{"hello":"queue"}').toString('base64'));
    const { receivedMessageItems } = await queue.receiveMessages();
    expect(receivedMessageItems.map((m) => Buffer.from(m.messageText, 'base64').toString())).toEqual([
      '{"hello":"queue"}',
    ]);

    const container = BlobServiceClient.fromConnectionString(connection).getContainerClient('stack-test');
    await container.createIfNotExists();
    const blob = container.getBlockBlobClient('image.png');
    const bytes = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2, 255]);
    await blob.uploadData(bytes, { blobHTTPHeaders: { blobContentType: 'image/png' } });
    expect(await blob.downloadToBuffer()).toEqual(bytes);
    expect((await blob.getProperties()).contentType).toBe('image/png');
  });

  it('creates and reads Cosmos items through @azure/cosmos, accepting the emulator certificate', async () => {
    const client = new CosmosClient({
      endpoint: stack.env.COSMOS_ENDPOINT ?? '',
      key: stack.env.COSMOS_KEY ?? '',
      agent: new Agent({ rejectUnauthorized: false }),
      connectionPolicy: { enableEndpointDiscovery: false },
    });
    const { database } = await client.databases.createIfNotExists({ id: 'stack-test' });
    const { container } = await database.containers.createIfNotExists({
      id: 'items',
      partitionKey: { paths: ['/helpdeskId'] },
    });
    await container.items.create({ id: 'one', helpdeskId: 'desk', title: 'Printer on fire' });
    const { resource } = await container.item('one', 'desk').read<{ title: string }>();
    expect(resource?.title).toBe('Printer on fire');
    const { resources } = await container.items
      .query<{ id: string }>({
        query: 'SELECT c.id FROM c WHERE c.helpdeskId = @desk',
        parameters: [{ name: '@desk', value: 'desk' }],
      })
      .fetchAll();
    expect(resources.map((item) => item.id)).toEqual(['one']);
    client.dispose();
  });

  it('serves Graph over TLS trusted through GRAPH_CA_CERT_PATH', async () => {
    const ca = await readFile(stack.env.GRAPH_CA_CERT_PATH ?? '', 'utf8');
    expect(ca).toBe(stack.graph?.caCertPem);
    const status = await new Promise<number | undefined>((resolve, reject) => {
      get(`${stack.env.GRAPH_BASE_URL}/v1.0/users/nobody@example.test/messages`, { ca }, (response) => {
        response.resume();
        resolve(response.statusCode);
      }).once('error', reject);
    });
    expect(status).toBeGreaterThanOrEqual(200);
  });

  it('starts a second stack beside the first, and its stop leaves no process or port behind', async () => {
    const second = await startLocalStack({ graph: false });
    expect(second.graph).toBeNull();
    expect(second.env.GRAPH_BASE_URL).toBeUndefined();
    expect(second.env.COSMOS_ENDPOINT).not.toBe(stack.env.COSMOS_ENDPOINT);
    expect(queueEndpoint(second.env)).not.toBe(queueEndpoint(stack.env));
    expect(isRunning(second.processes.azurite) && isRunning(second.processes.cosmos)).toBe(true);

    await second.stop();
    expect(isRunning(second.processes.azurite)).toBe(false);
    expect(isRunning(second.processes.cosmos)).toBe(false);
    expect(await accepts(queueEndpoint(second.env))).toBe(false);
    expect(await accepts(second.env.COSMOS_ENDPOINT ?? '')).toBe(false);
    // The first stack is untouched.
    expect(await accepts(queueEndpoint(stack.env))).toBe(true);
  });

  it('stops everything, and stopping again is harmless', async () => {
    const graphUrl = stack.env.GRAPH_BASE_URL ?? '';
    await stack.stop();
    await stack.stop();
    expect(isRunning(stack.processes.azurite)).toBe(false);
    expect(isRunning(stack.processes.cosmos)).toBe(false);
    expect(await accepts(graphUrl)).toBe(false);
    await expect(readFile(stack.env.GRAPH_CA_CERT_PATH ?? '')).rejects.toThrow(/ENOENT/);
  });
});

describe('startLocalStack in a process that dies', () => {
  it('takes its emulators with it, even when killed without running exit handlers', async () => {
    const stackModule = new URL('../../local/stack.ts', import.meta.url).href;
    const parent = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        `const { startLocalStack } = await import(${JSON.stringify(stackModule)});
         const stack = await startLocalStack({ graph: false });
         console.log(JSON.stringify(stack.processes));`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const [line] = await once(createInterface({ input: parent.stdout }), 'line');
    const processes = JSON.parse(String(line)) as LocalStack['processes'];
    expect(isRunning(processes.azurite) && isRunning(processes.cosmos)).toBe(true);

    parent.kill('SIGKILL');
    await vi.waitFor(() => expect(isRunning(processes.azurite) || isRunning(processes.cosmos)).toBe(false), {
      timeout: 5_000,
      interval: 100,
    });
  });
});

describe('test support', () => {
  it('gives each file its own names on the shared stack, and a Graph emulator of its own', async () => {
    const env = testEnvironment({ IMAGES_CONTAINER: 'mine' });
    expect(readEnvironment(env)).toMatchObject({
      COSMOS_DATABASE: expect.stringMatching(/^test-[0-9a-f]{8}$/),
      IMPORT_QUEUE_NAME: expect.stringMatching(/^imports-[0-9a-f]{8}$/),
      IMAGES_CONTAINER: 'mine',
    });
    expect(testEnvironment().COSMOS_DATABASE).toBe(env.COSMOS_DATABASE);

    const { graph, env: withGraph, close } = await withGraphEmulator(env);
    try {
      expect(withGraph).toMatchObject({
        ...env,
        GRAPH_BASE_URL: graph.url,
        GRAPH_ACCESS_TOKEN: 'local-emulator-token',
      });
      expect(await readFile(withGraph.GRAPH_CA_CERT_PATH ?? '', 'utf8')).toBe(graph.caCertPem);
    } finally {
      await close();
    }
    expect(await accepts(graph.url)).toBe(false);
  });
});
