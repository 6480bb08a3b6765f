/**
 * The Graph mailbox emulator alone in a process of its own, so that a test or benchmark can measure the
 * importer's memory without the emulator's. Prints one JSON line with the app settings that point at it
 * (GRAPH_BASE_URL, GRAPH_ACCESS_TOKEN, GRAPH_CA_CERT_PATH); feed it through its `/_emulator/` control API.
 * Stops when its standard input closes.
 */

import { exitWhenWritten } from './exit.js';
import { startLocalGraph } from './stack.js';

const local = await startLocalGraph();
process.stdout.write(`${JSON.stringify(local.env)}\n`);
const stop = () => void local.close().then(() => exitWhenWritten(0));
process.stdin.on('end', stop).on('error', stop).resume();
process.on('SIGTERM', stop);
