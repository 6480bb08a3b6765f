import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalHost } from '../../local/host.js';
import type { Helpdesk } from '../../shared/helpdesk/settings.js';
import { importMailbox } from '../../shared/import/importMailbox.js';
import type { MailRecord } from '../../shared/import/mailRecord.js';
import { MESSAGE_RECORD_PREFIX } from '../../shared/observability/telemetry.js';
import { formatTicketReference } from '../../shared/tickets/ticketNumber.js';
import { testHelpdesk } from '../support/helpdeskFixtures.js';
import { hostApi, startHostWithoutTimers } from '../support/hostApi.js';
import {
  type ImportScenario,
  mailRecords,
  seedHelpdesk,
  sentMail,
  startImportScenario,
} from '../support/importScenario.js';
import { rawMail } from '../support/mail.js';

/**
 * Rules per mailbox and link criteria (R19) through the local host: the rules saved with PUT …/importer,
 * mail imported with POST …/import, a kept-aside mail listed and retried over HTTP; Graph emulator and
 * Cosmos DB behind. Two mailboxes of one helpdesk with different rule sets see the same kinds of mail.
 */

const SUPPORT = 'support@rules.test';
const SALES = 'sales@rules.test';

function rule(id: string, when: unknown, actions: unknown[], stop = false) {
  return Object.fromEntries([
    ['id', id],
    ['name', id],
    ['when', when],
    ['then', actions],
    ['stop', stop],
  ]);
}

const invoices = rule(
  'billing',
  {
    all: [
      { field: 'subject', op: 'contains', value: 'factuur' },
      { field: 'from', op: 'endsWith', value: '@leverancier.example' },
      { not: { field: 'header:List-Unsubscribe', op: 'exists' } },
    ],
  },
  [
    { action: 'setField', field: 'priorityId', value: 'high' },
    { action: 'setField', field: 'categoryId', value: 'billing' },
    { action: 'link', entity: 'relation', number: '000123' },
    { action: 'noAcknowledgement' },
  ],
  true,
);
const newsletters = rule('newsletters', { field: 'header:List-Unsubscribe', op: 'exists' }, [
  { action: 'ignore' },
  { action: 'moveTo', folder: 'Newsletters' },
]);
const strangers = rule('strangers', { field: 'senderKnown', op: 'notExists' }, [{ action: 'createContact' }]);
const legal = rule('legal', { field: 'subject', op: 'matches', value: '\\b(?:legal|juridisch)\\b' }, [
  { action: 'keepAside' },
]);

/** Seeded without rules: they are set through the settings API, as an administrator would. */
const helpdesk: Helpdesk = testHelpdesk('rules', SUPPORT, {
  mailboxes: [
    { id: 'support', userId: SUPPORT },
    { id: 'sales', userId: SALES },
  ],
  acknowledgement: { newTicket: { enabled: true } },
});

let scenario: ImportScenario;
let host: LocalHost;
let minute = 0;
const lines: string[] = [];

function api(method: string, path: string, body?: unknown) {
  return hostApi(host, method, path, body);
}

/** The importer settings with rules on each mailbox and link criteria, saved through the API. */
async function putRules(support: unknown[], sales: unknown[]): Promise<void> {
  const read = await api('GET', `helpdesks/${helpdesk.id}/importer`);
  const importer = read.json as Helpdesk['importer'];
  const [first, second] = importer.mailboxes;
  const saved = await api('PUT', `helpdesks/${helpdesk.id}/importer`, {
    ...importer,
    mailboxes: [
      { ...first, rules: support },
      { ...second, rules: sales },
    ],
    linkCriteria: [
      { keyword: 'relnr', entity: 'relation' },
      { keyword: 'project', entity: 'project' },
    ],
  });
  expect(saved.status).toBe(200);
}

async function importNow(): Promise<void> {
  expect((await api('POST', `helpdesks/${helpdesk.id}/import`)).status).toBe(200);
}

async function deliver(to: string, mail: Parameters<typeof rawMail>[0]): Promise<void> {
  minute += 1;
  scenario.local.graph.deliver(to, await rawMail({ to, ...mail }), {
    receivedDateTime: new Date(Date.parse('2026-12-01T08:00:00Z') + minute * 60_000).toISOString(),
  });
}

async function recordFor(subject: string): Promise<MailRecord> {
  const record = (await mailRecords(scenario, helpdesk.id)).find((r) => r.subject === subject);
  if (!record) throw new Error(`no record for ${subject}`);
  return record;
}

async function ticketFor(subject: string) {
  const ticket = (await scenario.deps.tickets.listTickets(helpdesk.id)).find((t) => t.title === subject);
  if (!ticket) throw new Error(`no ticket ${subject}`);
  return ticket;
}

beforeAll(async () => {
  scenario = await startImportScenario();
  await seedHelpdesk(scenario, helpdesk);
  // Everything but the timer: the test imports on demand, over HTTP.
  host = await startHostWithoutTimers({
    env: scenario.env,
    log: (line) => lines.push(line),
  });
  await putRules([invoices, newsletters, strangers], [legal]);
  const invoice = {
    from: 'Anna <anna@leverancier.example>',
    subject: 'Factuur 2026-118 relnr 000123 project 12-3-1',
    text: 'Zie bijlage.\n',
  };
  const newsletter = {
    from: 'News <news@list.example>',
    subject: 'Our December newsletter',
    text: 'Hello!\n',
    headers: { 'List-Unsubscribe': '<mailto:unsubscribe@list.example>' },
  };
  await deliver(SUPPORT, invoice);
  await deliver(SUPPORT, newsletter);
  await deliver(SUPPORT, {
    from: 'Karin <karin@customer.example>',
    subject: 'Printer on fire',
    text: 'Help.\n',
  });
  await deliver(SUPPORT, {
    from: 'Nina New <nina@newcomer.example>',
    subject: 'Question, project 7/2',
    text: 'Hi.\n',
  });
  await deliver(SALES, { ...invoice, subject: 'Factuur 2026-119 via sales' });
  await deliver(SALES, {
    from: 'Karin <karin@customer.example>',
    subject: 'Legal question',
    text: 'Contract?\n',
  });
  await importNow();
});

afterAll(async () => {
  await host?.stop();
  await scenario?.local.close();
});

describe('rules per mailbox (R19), end to end', () => {
  it('setField + link: the supplier invoice gets priority, category and links, no acknowledgement', async () => {
    const ticket = await ticketFor('Factuur 2026-118 relnr 000123 project 12-3-1');
    expect(ticket).toMatchObject({ priorityId: 'high', categoryId: 'billing', typeId: 'question' });
    expect(ticket.links).toEqual([
      { entity: 'relation', number: '000123', parts: ['000123'], source: 'subject' },
      { entity: 'project', number: '12-3-1', parts: ['12', '3', '1'], source: 'subject' },
    ]);
    const record = await recordFor(ticket.title);
    expect(record.rules?.matched).toEqual(['billing']);
    expect(record.acknowledgement).toBeNull();
    const history = await scenario.deps.tickets.ticketWithEverything(helpdesk.id, ticket.number);
    expect(history?.history.map((h) => h.text).join(' ')).toContain('Rules applied: billing.');
    const acknowledged = (await sentMail(scenario, SUPPORT)).map((sent) => sent.to[0]);
    expect(acknowledged).toContain('karin@customer.example');
    expect(acknowledged).not.toContain('anna@leverancier.example');
  });

  it('the same invoice in the other mailbox, without that rule, is a plain ticket', async () => {
    const ticket = await ticketFor('Factuur 2026-119 via sales');
    expect(ticket).toMatchObject({ priorityId: 'p3', categoryId: null, links: [] });
    expect((await recordFor(ticket.title)).rules?.matched).toEqual([]);
  });

  it('ignore: no ticket, the record says why, and moveTo replaces marking read', async () => {
    const record = await recordFor('Our December newsletter');
    expect(record).toMatchObject({
      state: 'skipped',
      plan: { action: 'skip', reason: 'ignored by rule newsletters' },
    });
    expect(record.rules?.matched).toEqual(['newsletters', 'strangers']);
    expect((await scenario.deps.tickets.listTickets(helpdesk.id)).map((t) => t.title)).not.toContain(
      'Our December newsletter',
    );
    const moved = scenario.local.graph.messages(SUPPORT, 'Newsletters');
    expect(moved.map((m) => m.subject)).toEqual(['Our December newsletter']);
  });

  it('createContact: an unknown sender gets a contact of its own instead of the default contact', async () => {
    const ticket = await ticketFor('Question, project 7/2');
    expect(ticket.contact).toMatchObject({ name: 'Nina New', email: 'nina@newcomer.example' });
    expect(await scenario.deps.contacts.findByAddress(helpdesk.id, 'nina@newcomer.example')).toMatchObject({
      id: ticket.contact.id,
    });
    expect(ticket.links).toEqual([
      { entity: 'project', number: '7/2', parts: ['7', '2'], source: 'subject' },
    ]);
    // A known sender is left with its contact; the rule does not match.
    const karin = await ticketFor('Printer on fire');
    expect(karin.contact.id).toBe('known-customer');
    expect((await recordFor('Printer on fire')).rules?.matched).toEqual([]);
  });

  it('rule ids go in the per-message telemetry record', () => {
    const records = lines
      .filter((line) => line.includes(MESSAGE_RECORD_PREFIX))
      .map((line) => JSON.parse(line.slice(line.indexOf('{'))) as { rules: string[]; outcome: string });
    expect(records.map((r) => r.rules)).toContainEqual(['billing']);
    expect(records.map((r) => r.rules)).toContainEqual(['legal']);
  });

  it('keepAside: the mail waits for a person; a retry imports it with the rules stored, not the changed ones', async () => {
    const record = await recordFor('Legal question');
    expect(record).toMatchObject({
      state: 'keptAside',
      plan: null,
      rules: { matched: ['legal'], keepAside: 'legal' },
    });
    expect(record.keptAside?.reason).toBe('kept aside by rule legal for manual handling');
    expect((await scenario.deps.tickets.listTickets(helpdesk.id)).map((t) => t.title)).not.toContain(
      'Legal question',
    );

    const listed = (await api('GET', `helpdesks/${helpdesk.id}/messages`)).json as {
      messages: Array<{ key: string; reason: string }>;
    };
    expect(listed.messages).toMatchObject([
      { key: record.id, reason: 'kept aside by rule legal for manual handling' },
    ]);

    // The rules change meanwhile: the retry still applies what was decided when the mail came in.
    await putRules(
      [invoices, newsletters, strangers],
      [rule('legal', legal.when, [{ action: 'setField', field: 'priorityId', value: 'urgent' }])],
    );
    expect((await api('POST', `helpdesks/${helpdesk.id}/messages/${record.id}/retry`)).status).toBeLessThan(
      300,
    );
    // The retry queues the mailbox's job: wait for it, or an import started now finds the mailbox busy.
    await host.drainQueues();
    await importNow();
    const ticket = await ticketFor('Legal question');
    expect(ticket.priorityId).toBe('p3');
    expect(await recordFor('Legal question')).toMatchObject({
      state: 'stored',
      rules: { matched: ['legal'], setFields: {} },
    });
    // Handled after all: marked read, and no longer tagged as failed.
    expect(scenario.local.graph.messages(SALES).find((m) => m.subject === 'Legal question')).toMatchObject({
      isRead: true,
      categories: [],
    });
  });
});

describe("setField from the helpdesk's lists: assignee and department (R19)", () => {
  const DESK = 'desk@ruleslists.test';
  const lists: Helpdesk = testHelpdesk(
    'ruleslists',
    DESK,
    {},
    {
      employees: [{ id: 'emp-7', name: 'Eva Expert' }],
      departments: [{ id: 'finance', name: 'Finance' }],
    },
  );
  const everyField = rule('route', { field: 'subject', op: 'contains', value: 'invoice' }, [
    { action: 'setField', field: 'assigneeId', value: 'emp-7' },
    { action: 'setField', field: 'departmentId', value: 'finance' },
    { action: 'setField', field: 'statusId', value: 'new' },
    { action: 'setField', field: 'priorityId', value: 'high' },
    { action: 'setField', field: 'typeId', value: 'incident' },
    { action: 'setField', field: 'categoryId', value: 'billing' },
    { action: 'setField', field: 'environmentId', value: 'test' },
  ]);

  async function putListRules(rules: unknown[]) {
    const read = await api('GET', `helpdesks/${lists.id}/importer`);
    const importer = read.json as Helpdesk['importer'];
    return api('PUT', `helpdesks/${lists.id}/importer`, {
      ...importer,
      mailboxes: importer.mailboxes.map((mailbox) => ({ ...mailbox, rules })),
    });
  }

  /** A mail from Karin to the desk, imported over HTTP. */
  async function importFromKarin(subject: string) {
    scenario.local.graph.deliver(
      DESK,
      await rawMail({ from: 'Karin <karin@customer.example>', to: DESK, subject, text: `${subject}.\n` }),
    );
    expect((await api('POST', `helpdesks/${lists.id}/import`)).status).toBe(200);
  }

  /** Stored around the API, as the helpdesk application or an older version left them. */
  async function storeAroundApi(helpdesk: Helpdesk, rules: unknown[]) {
    await scenario.deps.helpdesks.put({
      ...helpdesk,
      importer: {
        ...helpdesk.importer,
        mailboxes: helpdesk.importer.mailboxes.map((mailbox) => ({
          ...mailbox,
          rules: rules as Helpdesk['importer']['mailboxes'][number]['rules'],
        })),
      },
    });
  }

  async function listsTicket(title: string) {
    const ticket = (await scenario.deps.tickets.listTickets(lists.id)).find((t) => t.title === title);
    if (!ticket) throw new Error(`no ticket ${title}`);
    return ticket;
  }

  it('a value the lists lack, or a pattern the engine refuses, is a 400 naming the rule field; nothing is saved', async () => {
    await seedHelpdesk(scenario, lists);
    const setting = (field: string, value: string) =>
      rule('x', { field: 'subject', op: 'exists' }, [{ action: 'setField', field, value }]);
    const cases: Array<[unknown, string, string]> = [
      [setting('assigneeId', 'emp-gone'), 'then.0.value', 'no such employee in this helpdesk'],
      [setting('departmentId', 'sales'), 'then.0.value', 'no such department in this helpdesk'],
      [setting('statusId', 'gone'), 'then.0.value', 'no such status in this helpdesk'],
      [
        rule('y', { any: [{ field: 'subject', op: 'matches', value: '(a)\\1' }] }, [{ action: 'ignore' }]),
        'when.any.0.value',
        'invalid regular expression',
      ],
    ];
    for (const [refusedRule, path, message] of cases) {
      const refused = await putListRules([everyField, refusedRule]);
      expect(refused.status, path).toBe(400);
      expect(refused.json).toMatchObject({
        error: {
          field: `body.mailboxes.0.rules.1.${path}`,
          message: expect.stringContaining(message),
        },
      });
    }
    const read = (await api('GET', `helpdesks/${lists.id}/importer`)).json as Helpdesk['importer'];
    expect(read.mailboxes[0]?.rules).toEqual([]);
  });

  it('a new ticket gets the assignee and department by name; a supplement takes all seven fields at once', async () => {
    expect((await putListRules([everyField])).status).toBe(200);
    await importFromKarin('Printer');
    const printer = await listsTicket('Printer');
    expect(printer).toMatchObject({ assignee: { id: 'emp-assignee' }, department: null, priorityId: 'p3' });

    await importFromKarin('Question about an invoice');
    // The reply sets seven fields on the ticket besides the six a supplement always changes: two patches.
    await importFromKarin(`RE: ${formatTicketReference(printer.number)} Printer, and the invoice`);
    const fields = {
      assignee: { id: 'emp-7', name: 'Eva Expert' },
      department: { id: 'finance', name: 'Finance' },
      priorityId: 'high',
      typeId: 'incident',
      categoryId: 'billing',
      environmentId: 'test',
    };
    expect(await listsTicket('Question about an invoice')).toMatchObject({ ...fields, statusId: 'new' });
    const supplemented = await scenario.deps.tickets.ticketWithEverything(lists.id, printer.number);
    expect(supplemented?.supplements).toHaveLength(1);
    expect(supplemented?.ticket).toMatchObject({
      ...fields,
      statusId: 'new',
      participants: ['karin@customer.example'],
    });
  });

  it('a stored rule whose pattern the engine no longer takes is skipped: the mail is imported, the record and telemetry say so', async () => {
    // Written around the API, as a rule saved under an older engine is read today.
    const legacy = rule('legacy', { field: 'subject', op: 'matches', value: '(?=x)x' }, [
      { action: 'ignore' },
    ]);
    await storeAroundApi({ ...lists }, [legacy, everyField]);
    await importFromKarin('x marks the invoice');
    expect(await listsTicket('x marks the invoice')).toMatchObject({ assignee: { id: 'emp-7' } });
    const record = (await mailRecords(scenario, lists.id)).find((r) => r.subject === 'x marks the invoice');
    expect(record).toMatchObject({ state: 'stored', attempts: 0, rules: { matched: ['route'] } });
    expect(record?.rules?.skipped).toEqual([
      { id: 'legacy', reason: expect.stringContaining('invalid regular expression') },
    ]);
    const telemetry = lines
      .filter((line) => line.includes(MESSAGE_RECORD_PREFIX))
      .map((line) => JSON.parse(line.slice(line.indexOf('{'))) as { rulesSkipped: string[] });
    expect(telemetry.map((r) => r.rulesSkipped)).toContainEqual(['legacy']);
  });

  it('an employee removed from the list after the rule was saved is not set, and the history says so', async () => {
    // The helpdesk application removes the employee; the rule saved before still names them.
    await storeAroundApi({ ...lists, employees: [] }, [everyField]);
    await importFromKarin('One more invoice');
    const ticket = await listsTicket('One more invoice');
    expect(ticket).toMatchObject({ assignee: lists.defaults.assignee, department: { id: 'finance' } });
    const everything = await scenario.deps.tickets.ticketWithEverything(lists.id, ticket.number);
    expect(everything?.history[0]?.text).toContain(
      "Rules applied: route. Not set, no longer in the helpdesk's lists: assigneeId emp-7.",
    );
  });
});

describe('exactly once with rules (R13, R19)', () => {
  const DESK = 'crash@rules.test';
  const telemetry = { messageOutcome: () => {}, mailboxRun: () => {} };
  const ref = { helpdeskId: 'rulescrash', mailboxId: 'main' };
  const urgent = rule('urgent', { field: 'subject', op: 'contains', value: 'urgent' }, [
    { action: 'setField', field: 'priorityId', value: 'p1' },
    { action: 'moveTo', folder: 'Handled' },
  ]);
  const crashHelpdesk = testHelpdesk('rulescrash', DESK, {
    mailboxes: [{ id: 'main', userId: DESK, rules: [urgent] }],
  });

  async function run(checkpoint: (step: string) => void) {
    for (let attempt = 0; attempt < 40; attempt++) {
      const result = await importMailbox({ ...scenario.deps, checkpoint }, ref, {
        trigger: 'test',
        deadline: Date.now() + 60_000,
        telemetry,
        leaseTtlMs: 300,
      }).catch((error: unknown) => (error instanceof Error ? error : new Error(String(error))));
      if (!(result instanceof Error) && result.status === 'busy') {
        await sleep(75);
        continue;
      }
      return result;
    }
    throw new Error('mailbox stayed busy');
  }

  it('a crash after the plan is stored, then a rule change: the retry applies the rules of the plan', async () => {
    await seedHelpdesk(scenario, crashHelpdesk);
    scenario.local.graph.deliver(
      DESK,
      await rawMail({
        from: 'Karin <karin@customer.example>',
        to: DESK,
        subject: 'urgent: server down',
        text: 'Down.\n',
      }),
    );
    const crashed = await run((step) => {
      if (step === 'planned') throw new Error('process died');
    });
    expect(crashed).toBeInstanceOf(Error);
    expect(await scenario.deps.tickets.listTickets('rulescrash')).toEqual([]);

    await scenario.deps.helpdesks.put(
      testHelpdesk('rulescrash', DESK, { mailboxes: [{ id: 'main', userId: DESK, rules: [] }] }),
    );
    await run(() => {});
    const [ticket] = await scenario.deps.tickets.listTickets('rulescrash');
    expect(ticket?.priorityId).toBe('p1');
    expect(scenario.local.graph.messages(DESK, 'Handled').map((m) => m.subject)).toEqual([
      'urgent: server down',
    ]);
    expect((await mailRecords(scenario, 'rulescrash'))[0]?.rules?.matched).toEqual(['urgent']);
  });
});
