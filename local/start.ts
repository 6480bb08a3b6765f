/**
 * `npm start`: the whole product on the embedded local stack, with no cloud account. Starts Azurite,
 * the Cosmos DB emulator and the Microsoft Graph mailbox emulator, provisions what infra/ would create,
 * seeds the demo helpdesk and its mailbox, and runs the functions the way the Functions host does.
 */
import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { allFunctions } from '../functions/definitions.js';
import { appServices } from '../shared/app/services.js';
import { ConfigurationError, readEnvironment } from '../shared/config/environment.js';
import type { Helpdesk } from '../shared/helpdesk/settings.js';
import { ticketContact } from '../shared/replies/recipients.js';
import { buildConsole } from './consoleBuild.js';
import { DEMO_MAILBOX, demoHelpdesk, seedDemo } from './demoHelpdesk.js';
import { exitWhenWritten } from './exit.js';
import type { GraphEmulator } from './graph-emulator/index.js';
import { type LocalHost, startLocalHost } from './host.js';
import { provisionLocalResources } from './provision.js';
import { startLocalStack } from './stack.js';

const repoRoot = path.resolve(import.meta.dirname, '..');

/** Settings the stack provides; stand-ins so the user's own settings can be checked before anything starts. */
const STACK_PLACEHOLDERS = {
  AzureWebJobsStorage: 'UseDevelopmentStorage=true',
  COSMOS_ENDPOINT: 'https://127.0.0.1:8081',
  COSMOS_KEY: 'placeholder',
  GRAPH_BASE_URL: 'https://127.0.0.1:8443',
  GRAPH_ACCESS_TOKEN: 'placeholder',
  MANAGEMENT_AUTH: 'none',
  ALLOWED_MAILBOXES: '*',
};

function log(line: string): void {
  console.log(`${new Date().toISOString().slice(11, 19)} ${line}`);
}

async function mailFiles(directory: string): Promise<string[]> {
  const names = (await readdir(directory)).filter((name) => name.toLowerCase().endsWith('.eml')).sort();
  if (names.length === 0) throw new ConfigurationError(`--mail-dir ${directory}: no .eml files there`);
  return names.map((name) => path.join(directory, name));
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { 'mail-dir': { type: 'string' }, port: { type: 'string', default: '7071' } },
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new ConfigurationError(`--port ${values.port}: not a port number`);
  readEnvironment({ ...process.env, ...STACK_PLACEHOLDERS });
  const files = await mailFiles(path.resolve(values['mail-dir'] ?? path.join(repoRoot, 'samples', 'mail')));

  log('starting the local stack (Azurite, Cosmos DB emulator, Graph mailbox emulator)…');
  const stack = await startLocalStack({ log });
  const graph = stack.graph;
  if (!graph) throw new Error('the local stack started without its Graph emulator');
  let host: LocalHost | undefined;
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    log('stopping…');
    await host?.stop();
    await stack.stop();
    await exitWhenWritten(code);
  };
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));

  try {
    Object.assign(process.env, stack.env);
    if (port !== 0 && !process.env.NOTIFICATION_URL) {
      // Change notifications from the emulator to this host, with a secret of this run only.
      process.env.NOTIFICATION_URL = `http://127.0.0.1:${port}/api/notifications`;
      process.env.NOTIFICATION_CLIENT_STATE_SECRET ??= randomBytes(32).toString('base64url');
    }
    const env = readEnvironment(process.env);
    await provisionLocalResources(env);
    const helpdesk = demoHelpdesk(DEMO_MAILBOX);
    const deps = appServices().dependencies({ info: log, warn: log, error: log });
    await seedDemo(deps, helpdesk);
    graph.addMailbox(DEMO_MAILBOX, { displayName: 'Demo Servicedesk' });
    const firstReceived = Date.now() - files.length * 60_000;
    for (const [index, file] of files.entries()) {
      graph.deliver(DEMO_MAILBOX, await readFile(file), {
        receivedDateTime: new Date(firstReceived + index * 60_000).toISOString(),
      });
    }
    log(`demo helpdesk "${helpdesk.id}" seeded; mailbox ${DEMO_MAILBOX} holds ${files.length} mail(s)`);

    // Built on every start, so the console always matches its source (it takes well under a second).
    await buildConsole();
    const hostJson = JSON.parse(await readFile(path.join(repoRoot, 'host.json'), 'utf8'));
    host = await startLocalHost({
      functions: allFunctions,
      env: process.env as Record<string, string>,
      hostJson,
      httpPort: port,
      runTimersAtStart: true,
      log,
    });
    log(`functions running; HTTP on ${host.httpUrl}/api (no function key needed locally)`);
    await host.drainQueues();
    await printTickets(helpdesk.id);
    const acknowledgements = graph.messages(DEMO_MAILBOX, 'sentitems');
    log(
      `${acknowledgements.length} acknowledgement(s) in Sent Items: ${acknowledgements.map((m) => JSON.stringify(m.subject)).join(', ')}`,
    );
    await demoReply(host, graph, helpdesk);
    log(
      `try: curl -X POST ${host.httpUrl}/api/helpdesks/demo/import   ·   curl ${host.httpUrl}/api/helpdesks/demo/importer/status`,
    );
    log(`admin console: ${host.httpUrl}/api/console?helpdesk=${helpdesk.id} (no sign-in locally)`);
    log(
      `timer schedule: ${env.IMPORT_SCHEDULE}${env.NOTIFICATION_URL ? `; change notifications to ${env.NOTIFICATION_URL}` : ''}; Ctrl-C stops everything`,
    );
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    await stop(1);
  }
}

/**
 * What a helpdesk application does when an agent answers: POST the reply. The customer gets a mailbox in
 * the Graph emulator, so the reply is seen arriving there, threaded to the customer's mail.
 */
async function demoReply(host: LocalHost, graph: GraphEmulator, helpdesk: Helpdesk): Promise<void> {
  const { tickets } = appServices().dependencies({ info: log, warn: log, error: log });
  const ticket = (await tickets.listTickets(helpdesk.id)).find(
    (candidate) => ticketContact(candidate, helpdesk.importer.defaultContactId) !== null,
  );
  const customer = ticket && ticketContact(ticket, helpdesk.importer.defaultContactId);
  if (!ticket || !customer) return;
  graph.addMailbox(customer.address, { displayName: customer.name });
  const url = `${host.httpUrl}/api/helpdesks/${helpdesk.id}/tickets/${ticket.number}/replies`;
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      text: 'Thank you for your message. We are looking into it and will get back to you today.',
      author: { employeeId: 'emp-2', name: 'Mila de Vries' },
    }),
  });
  const posted = (await response.json()) as { replyId?: string; status?: string };
  log(`agent reply to ticket #${ticket.number}: POST ${url} → ${response.status} ${JSON.stringify(posted)}`);
  await host.drainQueues();
  const state = (await (await fetch(`${url}/${posted.replyId}`)).json()) as {
    status: string;
    messageId: string;
  };
  const arrived = graph
    .messages(customer.address, 'inbox')
    .filter((message) => message.internetMessageId === state.messageId);
  log(
    `reply ${state.status}: ${arrived.map((m) => `${JSON.stringify(m.subject)} from ${m.from} arrived in ${customer.address}'s inbox`).join('') || 'not arrived'}`,
  );
}

async function printTickets(helpdeskId: string): Promise<void> {
  const { tickets } = appServices().dependencies({ info: log, warn: log, error: log });
  for (const ticket of await tickets.listTickets(helpdeskId)) {
    const everything = await tickets.ticketWithEverything(helpdeskId, ticket.number);
    log(
      `ticket #${ticket.number} "${ticket.title}" — ${ticket.contact.name} (${ticket.organisation?.name ?? 'no organisation'}), status ${ticket.statusId}, ${ticket.images.length} image(s), ${everything?.supplements.length ?? 0} supplement(s)`,
    );
    for (const supplement of everything?.supplements ?? []) {
      log(
        `   supplement from ${supplement.informationProvider.name}: ${JSON.stringify(supplement.description.slice(0, 80))}`,
      );
    }
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  return exitWhenWritten(1);
});
