import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Helpdesk } from '../../shared/helpdesk/settings.js';
import { importMailbox } from '../../shared/import/importMailbox.js';
import { testHelpdesk } from '../support/helpdeskFixtures.js';
import {
  type ImportScenario,
  mailRecords,
  seedHelpdesk,
  startImportScenario,
  testRunOptions,
} from '../support/importScenario.js';
import { rawMail } from '../support/mail.js';

/** Scan type delta (R5) against the Graph emulator's messages/delta, with pages of at most 4 messages. */

const DESK = 'desk@delta.test';
const desk: Helpdesk = testHelpdesk('delta', DESK, {
  mailboxes: [{ id: 'main', userId: DESK, scan: 'delta' }],
});
const ref = { helpdeskId: desk.id, mailboxId: 'main' };

let scenario: ImportScenario;
const warnings: string[] = [];

async function deliver(subject: string, options: { isRead?: boolean; receivedDateTime?: string } = {}) {
  const raw = await rawMail({
    from: 'Karin Klant <karin@customer.example>',
    to: DESK,
    subject,
    text: subject,
  });
  return scenario.local.graph.deliver(DESK, raw, options);
}

async function run() {
  const deps = {
    ...scenario.deps,
    log: { ...scenario.deps.log, warn: (line: string) => warnings.push(line) },
  };
  return importMailbox(deps, ref, testRunOptions());
}

beforeAll(async () => {
  scenario = await startImportScenario({}, { deltaPageSizeLimit: 4 });
  await seedHelpdesk(scenario, desk);
});

afterAll(async () => {
  await scenario?.local.close();
});

describe('scan type delta', () => {
  it('imports read and unread mail across delta pages, each once, and then only what is new', async () => {
    for (let i = 0; i < 9; i++) await deliver(`Question ${i}`, { isRead: i % 3 === 0 });
    const counters = scenario.local.graph;
    counters.resetCounters();

    const first = await run();
    expect(first.status).toBe('done');
    expect(first.counts.created).toBe(9);
    const deltaCalls = counters.counters()['GET /users/{id}/mailFolders/{folder}/messages/delta'] ?? 0;
    expect(deltaCalls).toBeGreaterThanOrEqual(3);
    const status = await scenario.deps.helpdesks.mailboxStatus(desk.id, 'main');
    expect(status.delta?.link).toContain('$deltatoken=');

    // Marking the imported mail read changed it: the next round reads it back, and leaves it be. Mail
    // received two hours ago (moved in late) is new to the folder all the same.
    await deliver('Opened in Outlook first', { isRead: true });
    await deliver('Arrived late', { receivedDateTime: new Date(Date.now() - 2 * 3_600_000).toISOString() });
    counters.resetCounters();
    const second = await run();
    expect(second.counts, JSON.stringify(second)).toMatchObject({ created: 2 });
    expect(second.counts.alreadyImported).toBe(9);
    expect(counters.counters()['POST /$batch'] ?? 0).toBe(1);

    const third = await run();
    expect(third.counts).toMatchObject({ created: 0, alreadyImported: 2 });
    const fourth = await run();
    expect(fourth.counts).toMatchObject({ created: 0, alreadyImported: 0 });

    const records = await mailRecords(scenario, desk.id);
    expect(records).toHaveLength(11);
    expect(new Set(records.map((r) => r.internetMessageId)).size).toBe(11);
    expect(scenario.local.graph.messages(DESK, 'inbox').every((m) => m.isRead)).toBe(true);
  });

  it('falls back to a full scan by received time when Graph no longer knows the token, and stores a fresh one', async () => {
    const before = await scenario.deps.helpdesks.mailboxStatus(desk.id, 'main');
    scenario.local.graph.expireDeltaTokens();
    await deliver('After the token expired');
    warnings.length = 0;

    const result = await run();
    expect(result.status).toBe('done');
    expect(result.counts.created).toBe(1);
    expect(warnings.join('\n')).toMatch(/no longer knows the delta token .*SyncStateNotFound.*full scan/);
    const after = await scenario.deps.helpdesks.mailboxStatus(desk.id, 'main');
    expect(after.delta?.link).toBeDefined();
    expect(after.delta?.link).not.toBe(before.delta?.link);

    // The fresh token works: a round from it finds nothing new and warns no more.
    warnings.length = 0;
    const next = await run();
    expect(next.counts.created).toBe(0);
    expect(warnings).toEqual([]);
  });
});
