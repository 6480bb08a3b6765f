import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appServices } from '../../shared/app/services.js';
import { importMailbox } from '../../shared/import/importMailbox.js';
import { mailboxKey, messageKey } from '../../shared/import/mailRecord.js';
import { testHelpdesk } from '../support/helpdeskFixtures.js';
import { stallMail } from '../support/hostileMail.js';
import {
  type ImportScenario,
  seedHelpdesk,
  startImportScenario,
  testRunOptions,
} from '../support/importScenario.js';
import { rawMail } from '../support/mail.js';

/** Security review (issue 20, item 1): one crafted mail must not stall a worker, nor be retried forever. */

let scenario: ImportScenario;

async function desk(id: string, importer: Record<string, unknown> = {}) {
  const userId = `desk@${id}.test`;
  await seedHelpdesk(scenario, testHelpdesk(id, userId, importer));
  return { ref: { helpdeskId: id, mailboxId: 'main' }, userId };
}

beforeAll(async () => {
  scenario = await startImportScenario();
}, 120_000);

afterAll(async () => {
  await scenario?.local.close();
});

describe('attack: the stall mail (490 nested Outlook marker divs around 5 MB of text)', () => {
  // Measured here: stored after about 1 s (printed). The bound is far above that for a loaded CI machine and
  // far below the ~100 s of the quadratic extraction.
  it('imports in linear time (about a second)', { timeout: 60_000 }, async () => {
    const { ref, userId } = await desk('stall');
    scenario.local.graph.deliver(userId, stallMail(), { receivedDateTime: '2026-11-23T08:00:00Z' });
    let storedAfter = Number.NaN;
    const start = performance.now();
    // Up to the stored record: marking the source read afterwards is Graph's work (here the emulator's,
    // in this process).
    const clocked = (step: string) => {
      if (step === 'stored') storedAfter = performance.now() - start;
    };
    const result = await importMailbox({ ...scenario.deps, checkpoint: clocked }, ref, testRunOptions());
    console.log(
      `stall mail stored after ${storedAfter.toFixed(0)} ms, run done after ${(performance.now() - start).toFixed(0)} ms`,
    );
    expect(result.counts.created).toBe(1);
    expect(storedAfter).toBeLessThan(10_000);
  });
});

describe('attack: a mail whose processing outlasts every run', () => {
  it('counts as an attempt and is kept aside once it used its whole processing budget', async () => {
    const { ref, userId } = await desk('budget');
    scenario.local.graph.deliver(
      userId,
      await rawMail({
        from: 'karin@customer.example',
        subject: 'Slow',
        text: 'x',
        messageId: '<slow@customer.example>',
      }),
      { receivedDateTime: '2026-11-23T08:00:00Z' },
    );
    const result = await importMailbox(scenario.deps, ref, testRunOptions({ messageBudgetMs: 1 }));
    expect(result.counts.keptAside).toBe(1);
    expect(result.problems[0]?.reason).toContain('processing budget');
    const stored = await scenario.deps.records.get(
      mailboxKey('budget', 'main'),
      messageKey('<slow@customer.example>'),
    );
    expect(stored?.record.state).toBe('keptAside');
    expect(stored?.record.attempts).toBe(1);
  });

  it('is not counted when the run’s deadline came first, and the next run imports it', async () => {
    const { ref, userId } = await desk('cut');
    scenario.local.graph.deliver(
      userId,
      await rawMail({
        from: 'karin@customer.example',
        subject: 'Cut',
        text: 'x',
        messageId: '<cut@customer.example>',
      }),
      { receivedDateTime: '2026-11-23T08:00:00Z' },
    );
    const deadline = Date.now() + 2_000;
    // Synchronous work past the run's deadline, as a slow parse is: no timer can fire meanwhile.
    const busyPastDeadline = (step: string) => {
      if (step === 'fetched') while (Date.now() <= deadline);
    };
    const cut = await importMailbox(
      { ...scenario.deps, checkpoint: busyPastDeadline },
      ref,
      testRunOptions({ deadline, messageBudgetMs: 60_000 }),
    );
    expect(cut.status).toBe('incomplete');
    expect(cut.counts).toMatchObject({ failed: 0, keptAside: 0, created: 0 });
    const record = await scenario.deps.records.get(
      mailboxKey('cut', 'main'),
      messageKey('<cut@customer.example>'),
    );
    expect(record?.record.attempts ?? 0).toBe(0);

    const next = await importMailbox(scenario.deps, ref, testRunOptions());
    expect(next.counts.created).toBe(1);
  });
});

describe('attack: an address in a send error reaching the logs (issue 20, item 10)', () => {
  it('the failed acknowledgement send is logged without the local part, percent-encoded in the Graph path', async () => {
    const { ref, userId } = await desk('sendlog', { acknowledgement: { newTicket: { enabled: true } } });
    scenario.local.graph.deliver(
      userId,
      await rawMail({
        from: 'karin@customer.example',
        subject: 'Help',
        text: 'x',
        messageId: '<ack@customer.example>',
      }),
      { receivedDateTime: '2026-11-23T08:00:00Z' },
    );
    scenario.local.graph.injectFault({ route: 'sendMail', status: 503, count: 10 });
    const lines: string[] = [];
    const capture = {
      info: () => {},
      warn: (m: string) => lines.push(m),
      error: (m: string) => lines.push(m),
    };
    const result = await importMailbox(appServices().dependencies(capture), ref, testRunOptions());
    expect(result.counts.created).toBe(1);
    const sendError = lines.find((line) => line.includes('not sent'));
    expect(sendError).toContain('*%40sendlog.test');
    expect(lines.join('\n')).not.toMatch(/desk(?:%40|@)/);
  });
});
