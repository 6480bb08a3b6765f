import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEPLOY_PACKAGE_DIR, type PackageSize, stageDeploymentPackage } from '../../local/packageStaging.js';
import { CONSOLE_ASSETS, consoleAssetsDir } from '../../shared/http/consoleAssets.js';

const run = promisify(execFile);
const projectDir = fileURLToPath(new URL('../../', import.meta.url));

interface PackageJson {
  main: string;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
}
interface LockFile {
  packages: Record<string, { dev?: boolean }>;
}

const packageJson: PackageJson = JSON.parse(readFileSync(path.join(projectDir, 'package.json'), 'utf8'));
const lock: LockFile = JSON.parse(readFileSync(path.join(projectDir, 'package-lock.json'), 'utf8'));

/** Every installed package below node_modules, as the lock file names it (node_modules/a/node_modules/@b/c). */
async function installedPackages(root: string): Promise<string[]> {
  const found: string[] = [];
  async function walk(modulesDir: string): Promise<void> {
    if (!existsSync(modulesDir)) return;
    for (const entry of await readdir(modulesDir, { withFileTypes: true })) {
      if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
      const names = entry.name.startsWith('@')
        ? (await readdir(path.join(modulesDir, entry.name))).map((name) => `${entry.name}/${name}`)
        : [entry.name];
      for (const name of names) {
        const dir = path.join(modulesDir, name);
        found.push(path.relative(root, dir).split(path.sep).join('/'));
        await walk(path.join(dir, 'node_modules'));
      }
    }
  }
  await walk(path.join(root, 'node_modules'));
  return found;
}

describe('deployment package', () => {
  let outDir: string;
  let size: PackageSize;
  let installed: string[];

  beforeAll(async () => {
    outDir = path.join(await mkdtemp(path.join(os.tmpdir(), 'deploy-package-')), 'api');
    size = await stageDeploymentPackage(projectDir, outDir);
    installed = await installedPackages(outDir);
  }, 240_000);

  afterAll(async () => {
    if (outDir) await rm(path.dirname(outDir), { recursive: true, force: true });
  });

  it('holds every production dependency and no package only the devDependencies need', () => {
    expect(installed.length).toBeGreaterThan(0);
    for (const name of Object.keys(packageJson.dependencies))
      expect(installed).toContain(`node_modules/${name}`);
    for (const name of Object.keys(packageJson.devDependencies))
      expect(installed).not.toContain(`node_modules/${name}`);
    expect(installed.filter((key) => lock.packages[key]?.dev)).toEqual([]);
    // Every installed package is one the lock file knows: nothing came from outside it.
    expect(installed.filter((key) => !(key in lock.packages))).toEqual([]);
  });

  it('holds the compiled app, host.json and the package files, and main points at a file in it', async () => {
    const top = (await readdir(outDir)).sort();
    expect(top).toEqual(
      [
        '.funcignore',
        '.zipignore',
        'dist',
        'host.json',
        'node_modules',
        'package-lock.json',
        'package.json',
      ].sort(),
    );
    expect(existsSync(path.join(outDir, packageJson.main))).toBe(true);
    expect(existsSync(path.join(outDir, 'dist', 'functions', 'index.ts'))).toBe(false);
    // The admin console's three files, where functions/console.ts finds them in the package.
    for (const asset of Object.keys(CONSOLE_ASSETS))
      expect(
        existsSync(path.join(consoleAssetsDir(path.join(outDir, 'dist', 'shared', 'http')), asset)),
      ).toBe(true);
    expect(size.bytes).toBeGreaterThan(0);
  });

  it('loads: main imports with only the production dependencies beside it', async () => {
    // A fresh Node outside any host: @azure/functions registers nothing (test mode) and a missing app
    // setting is one logged line, but a dependency that is not in the package fails the import.
    const main = pathToFileURL(path.join(outDir, packageJson.main)).href;
    const { stdout } = await run(
      process.execPath,
      ['--input-type=module', '-e', 'await import(process.argv[1]); console.log("loaded")', main],
      { cwd: outDir, env: { PATH: process.env.PATH ?? '' } },
    );
    expect(stdout.trim()).toBe('loaded');
  });

  it('is the folder azure.yaml deploys, staged by its prepackage hook', () => {
    const azureYaml = readFileSync(path.join(projectDir, 'azure.yaml'), 'utf8');
    expect(azureYaml).toContain(`dist: ${DEPLOY_PACKAGE_DIR.split(path.sep).join('/')}`);
    expect(azureYaml).toMatch(/prepackage:[\s\S]*run: npm run deploy:package/);
  });
});
