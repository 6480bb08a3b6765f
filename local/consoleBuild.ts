/**
 * Builds the admin console (console/) into dist/console: the page, one bundled, minified script (Preact
 * and the app, for the browsers of today) and its style sheet, the three files functions/console.ts
 * serves. The one build of it: `npm run build`, `npm start`, the tests and the deployment package call it.
 */
import { copyFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { build } from 'esbuild';

const projectDir = path.resolve(import.meta.dirname, '..');
export const CONSOLE_SOURCE_DIR = path.join(projectDir, 'console');
export const CONSOLE_DIST_DIR = path.join(projectDir, 'dist', 'console');

export async function buildConsole(outDir = CONSOLE_DIST_DIR): Promise<void> {
  await mkdir(outDir, { recursive: true });
  await build({
    entryPoints: { app: path.join(CONSOLE_SOURCE_DIR, 'main.tsx') },
    outdir: outDir,
    bundle: true,
    minify: true,
    format: 'esm',
    target: ['es2022'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    legalComments: 'none',
    logLevel: 'warning',
  });
  await copyFile(path.join(CONSOLE_SOURCE_DIR, 'index.html'), path.join(outDir, 'index.html'));
}
