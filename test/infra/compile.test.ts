import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkTemplate, findBicep } from '../../local/bicep.js';

/*
 * The real Bicep compiler and linter on infra/, with the strict infra/bicepconfig.json, as `npm run
 * infra:check` runs them. Skipped when no CLI is found; test/support/bicepNotice.ts then says so in one line.
 */

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const config = path.join('infra', 'bicepconfig.json');
const cli = findBicep();

describe.skipIf(!cli)('Bicep compiler and linter', () => {
  it('compile and lint infra/main.bicep and its modules with no diagnostic at all', async () => {
    if (!cli) return;
    const check = await checkTemplate(cli, path.join('infra', 'main.bicep'), config, repoRoot);
    expect(check.diagnostics).toEqual([]);
    expect(check.succeeded).toBe(true);
  });

  it('report every kind of defect the check must catch, with the same configuration', async () => {
    if (!cli) return;
    const fixture = path.join('test', 'fixtures', 'bicep', 'defects.bicep');
    const check = await checkTemplate(cli, fixture, config, repoRoot);
    const found = check.diagnostics.map(({ file, line, level, code }) => ({ file, line, level, code }));
    expect(found).toEqual(
      expect.arrayContaining([
        // The linter's rules are errors by the configuration...
        { file: fixture, line: 3, level: 'error', code: 'no-unused-params' },
        // ...the compiler's type checks stay warnings, which infra:check fails on all the same.
        { file: fixture, line: 13, level: 'warning', code: 'BCP036' }, // wrong type
        { file: fixture, line: 14, level: 'warning', code: 'BCP037' }, // unknown property
        { file: fixture, line: 18, level: 'warning', code: 'BCP081' }, // unknown API version
        { file: fixture, line: 26, level: 'warning', code: 'BCP035' }, // missing required property
      ]),
    );
    expect(check.succeeded).toBe(false);
  });
});
