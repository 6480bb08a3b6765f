import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where the tests find their inputs: inside the repository only, so a clone on its own passes. */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const glpiCorpus = path.join(repoRoot, 'test', 'fixtures', 'glpi');
