import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApiError } from './errors.js';

/**
 * The admin console's files, as `npm run build` (local/consoleBuild.ts) writes them to dist/console: the
 * page, its one script and its style sheet. Nothing else is ever served, so a name cannot reach any other
 * file.
 */
export const CONSOLE_ASSETS = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
} as const;
export type ConsoleAsset = keyof typeof CONSOLE_ASSETS;

/**
 * Only the app's own script and styles; no inline script or style, no plugins, no framing of the console.
 * Mail HTML is shown in a sandboxed srcdoc frame, which inherits this policy and runs no script at all.
 */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * The folder holding host.json is the app's root: the repository when run from source (tsx), the
 * deployment package in Azure; the built console is in its dist/console either way.
 */
export function consoleAssetsDir(from = path.dirname(fileURLToPath(import.meta.url))): string {
  let dir = from;
  while (!existsSync(path.join(dir, 'host.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no host.json above ${from}`);
    dir = parent;
  }
  return path.join(dir, 'dist', 'console');
}

export function isConsoleAsset(name: string): name is ConsoleAsset {
  return Object.hasOwn(CONSOLE_ASSETS, name);
}

export async function readConsoleAsset(name: ConsoleAsset): Promise<Buffer> {
  try {
    return await readFile(path.join(consoleAssetsDir(), name));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    throw new Error(`the console is not built (${name} is missing): run npm run build`);
  }
}

export function consoleAssetName(requested: string | undefined): ConsoleAsset {
  const name = requested ?? 'index.html';
  if (!isConsoleAsset(name)) throw new ApiError('notFound', `console/${name} does not exist`);
  return name;
}
