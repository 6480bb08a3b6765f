import { statSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BicepSearch, ensureExecutable, findBicep } from '../../local/bicep.js';

let root: string;

/** Creates an empty file (and its folders) below the temporary root; returns its path. */
async function file(relative: string): Promise<string> {
  const full = path.join(root, relative);
  await mkdir(path.dirname(full), { recursive: true });
  await writeFile(full, '');
  return full;
}

function search(overrides: Partial<BicepSearch> & { env?: BicepSearch['env'] }): BicepSearch {
  return { env: {}, home: path.join(root, 'home'), platform: 'linux', arch: 'x64', ...overrides };
}

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'bicep-finder-'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('findBicep', () => {
  it('finds nothing on a machine without a CLI', () => {
    expect(findBicep(search({ env: { PATH: path.join(root, 'empty-bin') } }))).toBeUndefined();
  });

  it('prefers BICEP_PATH, then PATH, then azd, then the NuGet cache', async () => {
    const explicit = await file('explicit/bicep');
    const onPath = await file('bin/bicep');
    const azd = await file('home/.azd/bin/bicep');
    const nuget = await file('home/.nuget/packages/azure.bicep.commandline.linux-x64/0.49.2/tools/bicep');
    const PATH = [path.join(root, 'empty-bin'), path.join(root, 'bin')].join(path.delimiter);

    expect(findBicep(search({ env: { BICEP_PATH: explicit, PATH } }))).toEqual({
      path: explicit,
      source: 'BICEP_PATH',
    });
    expect(findBicep(search({ env: { PATH } }))).toEqual({ path: onPath, source: 'PATH' });
    expect(findBicep(search({ env: {} }))).toEqual({ path: azd, source: 'azd' });
    await rm(path.join(root, 'home/.azd'), { recursive: true });
    expect(findBicep(search({ env: {} }))).toEqual({ path: nuget, source: 'NuGet cache' });
  });

  it('takes the newest version in the NuGet cache, and NUGET_PACKAGES over ~/.nuget/packages', async () => {
    const packages = path.join(root, 'nuget-packages');
    const cli = (version: string) =>
      `nuget-packages/azure.bicep.commandline.linux-x64/${version}/tools/bicep`;
    await file(cli('0.9.1'));
    const newest = await file(cli('0.49.2'));
    await file(cli('0.30.23'));
    // A version folder without the executable (an interrupted restore) is passed over.
    await mkdir(path.join(packages, 'azure.bicep.commandline.linux-x64', '0.50.0'), { recursive: true });

    expect(findBicep(search({ env: { NUGET_PACKAGES: packages } }))).toEqual({
      path: newest,
      source: 'NuGet cache',
    });
  });

  it("looks for the package of this machine's platform and the .exe on Windows", async () => {
    const arm = await file('arm/azure.bicep.commandline.osx-arm64/0.49.2/tools/bicep');
    const windows = await file('win/azure.bicep.commandline.win-x64/0.49.2/tools/bicep.exe');

    expect(
      findBicep(
        search({ platform: 'darwin', arch: 'arm64', env: { NUGET_PACKAGES: path.join(root, 'arm') } }),
      ),
    ).toEqual({ path: arm, source: 'NuGet cache' });
    expect(
      findBicep(search({ platform: 'win32', arch: 'x64', env: { NUGET_PACKAGES: path.join(root, 'win') } })),
    ).toEqual({ path: windows, source: 'NuGet cache' });
    expect(
      findBicep(search({ platform: 'linux', arch: 'x64', env: { NUGET_PACKAGES: path.join(root, 'arm') } })),
    ).toBeUndefined();
  });

  it('reports a BICEP_PATH that names no file instead of looking elsewhere', async () => {
    await file('bin/bicep');
    expect(() =>
      findBicep(search({ env: { BICEP_PATH: path.join(root, 'missing'), PATH: path.join(root, 'bin') } })),
    ).toThrow(/BICEP_PATH=.*missing is not a file/);
  });

  it('gives a CLI restored without the execute bit one', async () => {
    const cli = await file('no-x/bicep');
    await chmod(cli, 0o644);
    ensureExecutable({ path: cli, source: 'NuGet cache' });
    expect(statSync(cli).mode & 0o111).toBe(0o111);
  });
});
