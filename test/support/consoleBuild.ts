import { buildConsole } from '../../local/consoleBuild.js';

/** The admin console, built once for the run (dist/ may be missing or stale), as `npm run build` builds it. */
export default async function setup(): Promise<void> {
  await buildConsole();
}
