import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import type { GraphEmulator, GraphEmulatorOptions } from '../../local/graph-emulator/index.js';
import { startLocalGraph } from '../../local/stack.js';

/** One suffix per test file (each file runs in its own fork), so files sharing the stack never collide. */
const suffix = randomBytes(4).toString('hex');

/**
 * App settings for this test file: the shared stack's connections plus a database, queue and blob
 * containers of its own. Overrides win.
 */
export function testEnvironment(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    ...inject('stackEnv'),
    COSMOS_DATABASE: `test-${suffix}`,
    IMPORT_QUEUE_NAME: `imports-${suffix}`,
    REPLY_QUEUE_NAME: `replies-${suffix}`,
    IMAGES_CONTAINER: `images-${suffix}`,
    RAW_MAIL_CONTAINER: `raw-mail-${suffix}`,
    KEPT_ASIDE_CONTAINER: `kept-aside-${suffix}`,
    // The emulator shows sent mail in Sent Items at once; a test about Graph's delay sets both.
    SENT_ITEMS_DELAY_SECONDS: '0',
    ...overrides,
  };
}

export interface TestGraph {
  graph: GraphEmulator;
  /** The given settings plus GRAPH_BASE_URL, GRAPH_ACCESS_TOKEN and GRAPH_CA_CERT_PATH. */
  env: Record<string, string>;
  close(): Promise<void>;
}

/** Starts a Graph mailbox emulator in this file's process; close it in afterAll. */
export async function withGraphEmulator(
  env: Record<string, string> = testEnvironment(),
  options: GraphEmulatorOptions = {},
): Promise<TestGraph> {
  const local = await startLocalGraph(options);
  return { graph: local.graph, env: { ...env, ...local.env }, close: local.close };
}
