/**
 * The Function App's deployment package (see deployPackage.ts): what the Functions host needs and nothing
 * else: the compiled app and the built admin console (dist/), host.json, package.json, package-lock.json and
 * the production dependencies (`npm ci --omit=dev`), not the test tools, emulators and compilers of the
 * devDependencies.
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { promisify } from 'node:util';
import { buildConsole } from './consoleBuild.js';

const run = promisify(execFile);

/** Relative to the project; azure.yaml's `dist:` of the api service names the same folder. */
export const DEPLOY_PACKAGE_DIR = path.join('.deploy', 'api');

const PROJECT_FILES = ['host.json', 'package.json', 'package-lock.json'];

/*
 * azd leaves node_modules out of a Node.js package unless the packaged folder has an ignore file of its
 * own (.funcignore for a Function App; some azd versions read .zipignore). The staged folder has both,
 * leaving out only themselves, so its production node_modules ships.
 */
const IGNORE_FILE = `# Written by local/packageStaging.ts: everything in this folder is deployed, node_modules included.
.funcignore
.zipignore
`;

/**
 * Files in node_modules that nothing loads at run time: type declarations, TypeScript sources and source
 * maps (the host does not run Node with --enable-source-maps). They are over half of the dependencies' bytes.
 */
const NOT_LOADED = /\.(?:[mc]?ts|map)$/;

async function pruneNodeModules(dir: string): Promise<void> {
  const entries = await readdir(path.join(dir, 'node_modules'), { recursive: true, withFileTypes: true });
  const unused = entries.filter((entry) => entry.isFile() && NOT_LOADED.test(entry.name));
  await Promise.all(unused.map((entry) => rm(path.join(entry.parentPath, entry.name))));
}

export interface PackageSize {
  files: number;
  bytes: number;
}

async function sizeOf(dir: string): Promise<PackageSize> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const files = entries.filter((entry) => entry.isFile());
  const sizes = await Promise.all(files.map((entry) => stat(path.join(entry.parentPath, entry.name))));
  return { files: files.length, bytes: sizes.reduce((sum, { size }) => sum + size, 0) };
}

/**
 * Compiles the app and builds the admin console into `outDir`/dist (a clean build, so no output of deleted
 * sources lingers), copies the project files, installs the production dependencies from the lock file and drops what they never load.
 * Uses npm's cache first: the lock pins every version and its integrity hash, so a cached copy is the same.
 */
export async function stageDeploymentPackage(projectDir: string, outDir: string): Promise<PackageSize> {
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  await run(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', path.join(outDir, 'dist')], {
    cwd: projectDir,
  });
  await buildConsole(path.join(outDir, 'dist', 'console'));
  for (const file of PROJECT_FILES) await copyFile(path.join(projectDir, file), path.join(outDir, file));
  await writeFile(path.join(outDir, '.funcignore'), IGNORE_FILE);
  await writeFile(path.join(outDir, '.zipignore'), IGNORE_FILE);
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  await run(npm, ['ci', '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund'], {
    cwd: outDir,
    shell: process.platform === 'win32',
  });
  await pruneNodeModules(outDir);
  return sizeOf(outDir);
}
