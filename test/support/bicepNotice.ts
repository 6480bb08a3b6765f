import { BICEP_RESTORE_HINT, findBicep } from '../../local/bicep.js';

/**
 * One line when test/infra/compile.test.ts is skipped for want of a Bicep CLI, so a green run says what it
 * did not check. A BICEP_PATH that names no file is left to that test to fail on.
 */
export default function setup(): void {
  let found: unknown;
  try {
    found = findBicep();
  } catch {
    return;
  }
  if (!found) console.log(`Bicep compile check skipped: no Bicep CLI found; ${BICEP_RESTORE_HINT}.`);
}
