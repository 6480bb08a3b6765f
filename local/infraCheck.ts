/**
 * `npm run infra:check`: compiles and lints infra/main.bicep with the real Bicep CLI and the strict
 * infra/bicepconfig.json. Any diagnostic fails it, warnings included: the compiler reports an unknown
 * property, a wrong type, a missing required property or an unknown API version only as a warning.
 * Exit code 0 when clean, 1 with one line per diagnostic, 2 when no CLI is found.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BICEP_RESTORE_HINT, bicepVersion, checkTemplate, findBicep, formatDiagnostic } from './bicep.js';

const repoRoot = fileURLToPath(new URL('../', import.meta.url));

async function main(): Promise<number> {
  const cli = findBicep();
  if (!cli) {
    console.error(`infra:check: no Bicep CLI found; ${BICEP_RESTORE_HINT}`);
    return 2;
  }
  const version = await bicepVersion(cli);
  const template = path.join('infra', 'main.bicep');
  const { diagnostics, succeeded } = await checkTemplate(
    cli,
    template,
    path.join('infra', 'bicepconfig.json'),
    repoRoot,
  );
  for (const diagnostic of diagnostics) console.error(formatDiagnostic(diagnostic));
  const clean = succeeded && diagnostics.length === 0;
  console.log(
    `infra:check: ${version} (${cli.source}): ${template} ${clean ? 'compiles and lints clean' : `has ${diagnostics.length} diagnostic(s)`}`,
  );
  return clean ? 0 : 1;
}

try {
  process.exitCode = await main();
} catch (error) {
  console.error(`infra:check: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 2;
}
