/** `npm run build`'s second step (after tsc): the admin console, see consoleBuild.ts. */
import { buildConsole, CONSOLE_DIST_DIR } from './consoleBuild.js';

await buildConsole();
console.log(`console built in ${CONSOLE_DIST_DIR}`);
