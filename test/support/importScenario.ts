import type { Database } from '@azure/cosmos';
import type { GraphEmulatorOptions } from '../../local/graph-emulator/index.js';
import { provisionLocalResources } from '../../local/provision.js';
import { type LocalGraph, startLocalGraph } from '../../local/stack.js';
import { appServices } from '../../shared/app/services.js';
import { readEnvironment } from '../../shared/config/environment.js';
import { container } from '../../shared/cosmos/containers.js';
import { connectCosmos } from '../../shared/cosmos/cosmosClient.js';
import type { Helpdesk } from '../../shared/helpdesk/settings.js';
import type { ImportDependencies } from '../../shared/import/dependencies.js';
import type { RunOptions } from '../../shared/import/importMailbox.js';
import type { MailRecord } from '../../shared/import/mailRecord.js';
import type { ParsedMail } from '../../shared/mail/parsedMail.js';
import type { Contact } from '../../shared/tickets/model.js';
import { testContacts, testHelpdesk } from './helpdeskFixtures.js';
import { parsedMailFromSource } from './parsedMailFromFile.js';
import { testEnvironment } from './testEnvironment.js';

/** End-to-end tests of the import: the Graph emulator in this process, the shared stack, the app's own adapters. */
export interface ImportScenario {
  local: LocalGraph;
  /** App settings, also copied into process.env so the function handlers use them. */
  env: Record<string, string>;
  deps: ImportDependencies;
  database: Database;
}

/** `overrides` change app settings (before the app reads them: once per test file). */
export async function startImportScenario(
  overrides: Record<string, string> = {},
  graphOptions: GraphEmulatorOptions = {},
): Promise<ImportScenario> {
  const local = await startLocalGraph(graphOptions);
  const env = { ...testEnvironment(overrides), ...local.env };
  Object.assign(process.env, env);
  const environment = readEnvironment(env);
  await provisionLocalResources(environment);
  const deps = appServices().dependencies({ info: () => {}, warn: () => {}, error: () => {} });
  const database = connectCosmos({
    endpoint: environment.COSMOS_ENDPOINT,
    database: environment.COSMOS_DATABASE,
    key: environment.COSMOS_KEY ?? '',
  });
  return { local, env, deps, database };
}

/** Stores the helpdesk with the fixture contacts (and any extra ones) and gives each mailbox an emulated mailbox. */
export async function seedHelpdesk(
  scenario: ImportScenario,
  helpdesk: Helpdesk,
  extraContacts: Contact[] = [],
): Promise<void> {
  await scenario.deps.helpdesks.put(helpdesk);
  for (const contact of [...testContacts(helpdesk.id), ...extraContacts]) {
    await scenario.deps.contacts.put(contact);
  }
  for (const mailbox of helpdesk.importer.mailboxes) scenario.local.graph.addMailbox(mailbox.userId);
}

/** A test helpdesk `id` with one mailbox `main` at desk@<id>.test, seeded: its mailbox and Graph user. */
export async function seedDesk(scenario: ImportScenario, id: string, importer: Record<string, unknown> = {}) {
  const userId = `desk@${id}.test`;
  await seedHelpdesk(scenario, testHelpdesk(id, userId, importer));
  return { ref: { helpdeskId: id, mailboxId: 'main' }, userId, helpdeskId: id };
}

/** Every record of the `mail` container for one helpdesk, all mailboxes, oldest first. */
export async function mailRecords(scenario: ImportScenario, helpdeskId: string): Promise<MailRecord[]> {
  const { resources } = await container(scenario.database, 'mail')
    .items.query<MailRecord>({
      query: 'SELECT * FROM c WHERE c.helpdeskId = @helpdeskId ORDER BY c.receivedDateTime',
      parameters: [{ name: '@helpdeskId', value: helpdeskId }],
    })
    .fetchAll();
  return resources;
}

export interface SentMail {
  mail: ParsedMail;
  /** When the emulator put it in Sent Items. */
  sentAt: string;
  /** Lower-cased To addresses. */
  to: string[];
}

/** The mailbox's Sent Items, each parsed from the raw MIME Graph stored. */
export async function sentMail(scenario: ImportScenario, userId: string): Promise<SentMail[]> {
  const { graph } = scenario.local;
  return Promise.all(
    graph.messages(userId, 'sentitems').map(async (view) => {
      const mail = await parsedMailFromSource(graph.rawMime(userId, view.id));
      return { mail, sentAt: view.receivedDateTime, to: mail.to.map((to) => to.address) };
    }),
  );
}

/** One header of a parsed mail (first occurrence), or undefined. */
export function header(mail: ParsedMail, name: string): string | undefined {
  return mail.headers[name.toLowerCase()]?.[0];
}

/** A mailbox run as a test drives it: a minute of time, a short lease, telemetry dropped. */
export function testRunOptions(overrides: Partial<RunOptions> = {}): RunOptions {
  return {
    trigger: 'test',
    deadline: Date.now() + 60_000,
    telemetry: { messageOutcome: () => {}, mailboxRun: () => {} },
    leaseTtlMs: 5_000,
    ...overrides,
  };
}
