import type { TestProject } from 'vitest/node';
import { startLocalStack } from '../../local/stack.js';

/** Azurite and the Cosmos DB emulator, shared by every test file; files keep apart by unique names. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const stack = await startLocalStack({ graph: false });
  project.provide('stackEnv', stack.env);
  return () => stack.stop();
}
