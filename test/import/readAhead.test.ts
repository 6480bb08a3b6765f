import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ImportDependencies } from '../../shared/import/dependencies.js';
import { importMailbox } from '../../shared/import/importMailbox.js';
import { READ_AHEAD_MAX_BYTES } from '../../shared/import/importMessage.js';
import {
  type ImportScenario,
  mailRecords,
  seedDesk,
  startImportScenario,
  testRunOptions,
} from '../support/importScenario.js';
import { rawMail } from '../support/mail.js';

/**
 * Issue 18: the next mail's MIME is fetched and parsed while the mail before it is decided and written.
 * Only mail whose import starts with its parse is read ahead; what it changes is nothing stored.
 */

let scenario: ImportScenario;

beforeAll(async () => {
  scenario = await startImportScenario();
}, 120_000);

afterAll(async () => {
  await scenario?.local.close();
});

async function deliver(
  userId: string,
  subjects: string[],
  text = 'The printer on the second floor is broken.',
) {
  const ids: string[] = [];
  for (const [index, subject] of subjects.entries()) {
    const raw = await rawMail({ from: 'Jan Jansen <jan@customer.test>', to: userId, subject, text });
    ids.push(scenario.local.graph.deliver(userId, raw, { receivedDateTime: `2026-12-05T08:0${index}:00Z` }));
  }
  return ids;
}

/** The app's dependencies, noting each MIME download (by Graph id) and each step in one timeline. */
function observed(base: ImportDependencies = scenario.deps) {
  const events: string[] = [];
  const source = base.mailSource;
  const deps: ImportDependencies = {
    ...base,
    mailSource: new Proxy(source, {
      get: (target, property) => {
        if (property === 'fetchMime') {
          return (userId: string, messageId: string, signal?: AbortSignal) => {
            events.push(`fetch ${messageId}`);
            return source.fetchMime(userId, messageId, signal);
          };
        }
        const value: unknown = Reflect.get(target, property);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    }),
    checkpoint: async (step) => {
      events.push(step);
      await base.checkpoint(step);
    },
  };
  return { deps, events };
}

/** Index of the n-th (0-based) occurrence of `event`. */
function nth(events: string[], event: string, n: number): number {
  return events.map((e, index) => (e === event ? index : -1)).filter((index) => index >= 0)[n] ?? -1;
}

describe('reading the next mail ahead', () => {
  it('fetches the next mail while the one before it is written, and imports each once in order', async () => {
    const { ref, userId } = await seedDesk(scenario, 'ahead');
    const ids = await deliver(userId, ['first', 'second', 'third']);
    const { deps, events } = observed();

    const result = await importMailbox(deps, ref, testRunOptions());

    expect(result.counts.created).toBe(3);
    expect(result.created).toEqual([...result.created].sort((a, b) => a - b));
    for (const [index, id] of ids.slice(1).entries()) {
      const fetched = events.indexOf(`fetch ${id}`);
      // Fetched before the mail before it said stored, and only once.
      expect(fetched).toBeGreaterThan(-1);
      expect(fetched).toBeLessThan(nth(events, 'historyWritten', index));
      expect(events.filter((event) => event === `fetch ${id}`)).toHaveLength(1);
    }
    const records = await mailRecords(scenario, 'ahead');
    expect(records.map((record) => [record.subject, record.state])).toEqual([
      ['first', 'stored'],
      ['second', 'stored'],
      ['third', 'stored'],
    ]);
  });

  it('does not read ahead mail that may have been seen before: its record is read first', async () => {
    const { ref, userId } = await seedDesk(scenario, 'seen');
    await deliver(userId, ['earlier']);
    await importMailbox(scenario.deps, ref, testRunOptions());
    // Received before the last run ended: perhaps listed by that run, so its record is read first.
    const ids = await deliver(userId, ['late one', 'late two']);
    const { deps, events } = observed();

    const result = await importMailbox(deps, ref, testRunOptions());

    expect(result.counts.created).toBe(2);
    expect(events.indexOf(`fetch ${ids[1]}`)).toBeGreaterThan(nth(events, 'historyWritten', 0));
  });

  it('keeps a mail aside at its turn when its parse ahead failed, and goes on with the next', async () => {
    const { ref, userId } = await seedDesk(scenario, 'failing', { attachments: { maxMessageBytes: 10_000 } });
    const ids = await deliver(userId, ['fine'], 'short');
    ids.push(...(await deliver(userId, ['too large'], 'x'.repeat(30_000))));
    ids.push(...(await deliver(userId, ['fine again'], 'short')));
    const { deps, events } = observed();

    const result = await importMailbox(deps, ref, testRunOptions());

    expect(events.indexOf(`fetch ${ids[1]}`)).toBeLessThan(nth(events, 'historyWritten', 0));
    expect(result.counts).toMatchObject({ created: 2, keptAside: 1 });
    const records = await mailRecords(scenario, 'failing');
    expect(records.map((record) => [record.subject ?? null, record.state])).toEqual([
      ['fine', 'stored'],
      [null, 'keptAside'],
      ['fine again', 'stored'],
    ]);
  });

  it('reads a mail larger than the read-ahead limit again at its turn, and imports it once', async () => {
    const { ref, userId } = await seedDesk(scenario, 'large');
    const ids = await deliver(userId, ['small']);
    const large = await rawMail({
      from: 'Jan Jansen <jan@customer.test>',
      to: userId,
      subject: 'large',
      text: 'A scanned report follows.',
      attachments: [{ filename: 'report.bin', content: Buffer.alloc(READ_AHEAD_MAX_BYTES, 7) }],
    });
    ids.push(scenario.local.graph.deliver(userId, large, { receivedDateTime: '2026-12-05T08:05:00Z' }));
    const { deps, events } = observed();

    const result = await importMailbox(deps, ref, testRunOptions());

    expect(result.counts.created).toBe(2);
    const fetches = events
      .map((event, index) => (event === `fetch ${ids[1]}` ? index : -1))
      .filter((i) => i >= 0);
    // Once ahead (given up past the limit, before the small mail was stored), once at its turn.
    expect(fetches).toHaveLength(2);
    expect(fetches[0]).toBeLessThan(nth(events, 'historyWritten', 0));
    expect(fetches[1]).toBeGreaterThan(nth(events, 'historyWritten', 0));
  });

  it('leaves a mail read ahead to the next run when the run stops before its turn', async () => {
    const { ref, userId } = await seedDesk(scenario, 'stopped');
    await deliver(userId, ['imported now', 'left for later']);
    const deadline = Date.now() + 1_000;
    const { deps, events } = observed({
      ...scenario.deps,
      // The first mail's writes take the run past its deadline, with the second one read ahead meanwhile.
      checkpoint: async (step) => {
        if (step === 'historyWritten') await sleep(Math.max(0, deadline - Date.now()) + 100);
      },
    });

    const stopped = await importMailbox(deps, ref, testRunOptions({ deadline }));

    expect(stopped.status).toBe('incomplete');
    expect(stopped.counts.created).toBe(1);
    expect(events.filter((event) => event.startsWith('fetch '))).toHaveLength(2);
    expect((await mailRecords(scenario, 'stopped')).map((record) => record.subject)).toEqual([
      'imported now',
    ]);

    const next = await importMailbox(scenario.deps, ref, testRunOptions());
    expect(next.counts.created).toBe(1);
    const records = await mailRecords(scenario, 'stopped');
    expect(records.map((record) => [record.subject, record.state])).toEqual([
      ['imported now', 'stored'],
      ['left for later', 'stored'],
    ]);
  });
});
