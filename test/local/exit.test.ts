import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../support/fixtures.js';

const tsx = path.join(repoRoot, 'node_modules', '.bin', 'tsx');

/** Runs a script with stdout and stderr piped; resolves with what arrived and the exit code. */
function runPiped(script: string): Promise<{ stdout: string; stderr: string; code: number | null }> {
  return new Promise((resolve) => {
    execFile(tsx, [script], { maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ stdout, stderr, code: error ? (error.code as number | null) : 0 });
    });
  });
}

describe('exitWhenWritten', () => {
  it('defect: a local command that exits right after printing more than 64 KiB into a pipe loses none of it', async () => {
    const script = path.join(os.tmpdir(), `exit-when-written-${process.pid}.mts`);
    const exitModule = pathToFileURL(path.join(repoRoot, 'local', 'exit.ts')).href;
    await writeFile(
      script,
      [
        `import { exitWhenWritten } from ${JSON.stringify(exitModule)};`,
        "process.stdout.write('o'.repeat(1024 * 1024));",
        "process.stderr.write('e'.repeat(256 * 1024));",
        'await exitWhenWritten(3);',
      ].join('\n'),
    );
    const { stdout, stderr, code } = await runPiped(script);
    expect(code).toBe(3);
    expect(stdout).toHaveLength(1024 * 1024);
    expect(stderr).toHaveLength(256 * 1024);
  });
});
