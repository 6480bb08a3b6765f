import { QueueClient } from '@azure/storage-queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { maintainSubscriptionsHandler } from '../../functions/maintainSubscriptions.js';
import { pollMailboxesHandler } from '../../functions/pollMailboxes.js';
import { freePort } from '../../local/freePort.js';
import type { LocalHost } from '../../local/host.js';
import { appServices } from '../../shared/app/services.js';
import type { Helpdesk } from '../../shared/helpdesk/settings.js';
import { isStored } from '../../shared/import/mailRecord.js';
import { clientStateFor } from '../../shared/notifications/clientState.js';
import { invocation } from '../support/functionRuns.js';
import { testHelpdesk } from '../support/helpdeskFixtures.js';
import { startHostWithoutTimers } from '../support/hostApi.js';
import {
  type ImportScenario,
  mailRecords,
  seedHelpdesk,
  startImportScenario,
} from '../support/importScenario.js';
import { rawMail } from '../support/mail.js';

/**
 * Change notifications end to end: the Graph emulator posts to the notifications function on the local
 * host, which enqueues the import job the host's queue function runs. The mailbox uses scan type delta.
 */

const DESK = 'desk@notify.test';
const SECRET = 'local-notification-secret-0123456789abcdef';
const desk: Helpdesk = testHelpdesk('notify', DESK, {
  mailboxes: [{ id: 'main', userId: DESK, scan: 'delta' }],
});
const ref = { helpdeskId: desk.id, mailboxId: 'main' };
const timer = {
  isPastDue: false,
  schedule: { adjustForDST: false },
  scheduleStatus: { last: '', next: '', lastUpdated: '' },
};

let scenario: ImportScenario;
let host: LocalHost;
let notificationUrl: string;
const lines: string[] = [];

async function deliver(subject: string): Promise<void> {
  const raw = await rawMail({
    from: 'Karin Klant <karin@customer.example>',
    to: DESK,
    subject,
    text: subject,
  });
  scenario.local.graph.deliver(DESK, raw);
}

async function ticketSubjects(): Promise<string[]> {
  const records = await mailRecords(scenario, desk.id);
  return records.filter(isStored).map((r) => r.subject ?? '');
}

async function waitFor(check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function post(body: unknown, query = `helpdeskId=${ref.helpdeskId}&mailboxId=${ref.mailboxId}`) {
  return fetch(`${notificationUrl}?${query}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

const change = (clientState: string) => ({
  subscriptionId: 'any',
  clientState,
  changeType: 'created',
  resource: 'Users/x/Messages/y',
});

async function maintain(): Promise<string[]> {
  const logged: string[] = [];
  await maintainSubscriptionsHandler(timer, invocation('maintainSubscriptions', logged));
  return logged;
}

beforeAll(async () => {
  const port = await freePort();
  notificationUrl = `http://127.0.0.1:${port}/api/notifications`;
  scenario = await startImportScenario({
    NOTIFICATION_URL: notificationUrl,
    NOTIFICATION_CLIENT_STATE_SECRET: SECRET,
  });
  await seedHelpdesk(scenario, desk);
  host = await startHostWithoutTimers({
    env: scenario.env,
    hostJson: { version: '2.0', extensions: { queues: { maxPollingInterval: '00:00:00.5' } } },
    httpPort: port,
    log: (line) => lines.push(line),
  });
});

afterAll(async () => {
  await host?.stop();
  await scenario?.local.close();
});

describe('change notifications', () => {
  it('answers the validation handshake with the decoded token as plain text', async () => {
    const response = await fetch(
      `${notificationUrl}?validationToken=${encodeURIComponent('Validation: a b&c')}`,
      {
        method: 'POST',
      },
    );
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await response.text()).toBe('Validation: a b&c');
  });

  it('creates the subscription through Graph validating the URL, and imports new mail within seconds', async () => {
    expect((await maintain()).join('\n')).toContain('1 created');
    const [subscription] = scenario.local.graph.subscriptions();
    expect(subscription?.clientState).toBe(clientStateFor(SECRET, ref));
    expect(subscription?.resource).toContain(DESK);
    expect(Date.parse(subscription?.expirationDateTime ?? '') - Date.now()).toBeGreaterThan(69 * 3_600_000);

    const sent = Date.now();
    await deliver('Printer on fire');
    await waitFor(async () => (await ticketSubjects()).includes('Printer on fire'));
    expect(Date.now() - sent).toBeLessThan(10_000);
    expect((await maintain()).join('\n')).toContain('1 unchanged');
  });

  it('refuses a notification with a wrong clientState: 401, nothing enqueued', async () => {
    await host.drainQueues();
    const queue = new QueueClient(
      scenario.env.AzureWebJobsStorage ?? '',
      scenario.env.IMPORT_QUEUE_NAME ?? '',
    );
    const wrong = await post({ value: [change('guessed')] });
    expect(wrong.status).toBe(401);
    // One good and one bad in the same request: refused as a whole.
    const mixed = await post({ value: [change(clientStateFor(SECRET, ref)), change('guessed')] });
    expect(mixed.status).toBe(401);
    // The clientState of another mailbox does not pass for this one.
    const other = await post({ value: [change(clientStateFor(SECRET, { ...ref, mailboxId: 'other' }))] });
    expect(other.status).toBe(401);
    expect((await queue.getProperties()).approximateMessagesCount).toBe(0);
    expect((await post({ value: [] })).status).toBe(400);
    expect((await post({ value: [change('x')] }, 'helpdeskId=../x&mailboxId=main')).status).toBe(400);
  });

  it('debounces a burst: 200 mails give a handful of runs, each mail imported once', async () => {
    // Runs that read the mailbox; one that found it busy put its job back and read nothing.
    const reading = (line: string) => /importMailbox notify\/main: (done|incomplete)/.test(line);
    const runsBefore = lines.filter(reading).length;
    const before = (await ticketSubjects()).length;
    const mails = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        rawMail({ from: 'Karin Klant <karin@customer.example>', to: DESK, subject: `Burst ${i}`, text: 'x' }),
      ),
    );
    for (const raw of mails) scenario.local.graph.deliver(DESK, raw);
    await waitFor(async () => (await ticketSubjects()).length >= before + 200, 120_000);
    await scenario.local.graph.notificationsSettled();
    await host.drainQueues();
    const runs = lines.filter(reading).length - runsBefore;
    expect(runs).toBeGreaterThanOrEqual(1);
    expect(runs).toBeLessThanOrEqual(5);
    const records = await mailRecords(scenario, desk.id);
    expect(records.filter((r) => r.subject?.startsWith('Burst '))).toHaveLength(200);
  }, 180_000);

  it('a duplicated notification is harmless', async () => {
    scenario.local.graph.injectNotificationFaults({ duplicate: 1 });
    await deliver('Said twice');
    await waitFor(async () => (await ticketSubjects()).includes('Said twice'));
    await scenario.local.graph.notificationsSettled();
    await host.drainQueues();
    expect((await ticketSubjects()).filter((s) => s === 'Said twice')).toHaveLength(1);
  });

  it('a dropped notification is caught by the safety-net poll, which waits longer while notifications work', async () => {
    scenario.local.graph.injectNotificationFaults({ drop: 1 });
    await deliver('Never announced');
    await scenario.local.graph.notificationsSettled();
    await host.drainQueues();
    expect(await ticketSubjects()).not.toContain('Never announced');

    // Notifications are healthy and the mailbox ran a moment ago: the timer leaves it alone.
    const polled: string[] = [];
    await pollMailboxesHandler(timer, invocation('pollMailboxes', polled));
    expect(polled.join('\n')).toContain('0 mailbox job(s)');

    // Half an hour later it is due.
    const status = await scenario.deps.helpdesks.mailboxStatus(ref.helpdeskId, ref.mailboxId);
    await scenario.deps.helpdesks.saveMailboxStatus({
      ...status,
      lastRunAt: new Date(Date.now() - 31 * 60_000).toISOString(),
    });
    await pollMailboxesHandler(timer, invocation('pollMailboxes', polled));
    expect(polled.join('\n')).toContain('1 mailbox job(s)');
    await waitFor(async () => (await ticketSubjects()).includes('Never announced'));
  });

  it('renews well before expiry, and a failing renewal shows on the mailbox status', async () => {
    const store = appServices().notificationStore;
    const state = await store.subscription(ref);
    if (!state?.subscriptionId) throw new Error('no subscription');
    // Ten hours left: inside the renewal window.
    await store.saveSubscription({
      ...state,
      expiresAt: new Date(Date.now() + 10 * 3_600_000).toISOString(),
    });
    expect((await maintain()).join('\n')).toContain('1 renewed');
    const renewed = scenario.local.graph.subscriptions().find((s) => s.id === state.subscriptionId);
    expect(Date.parse(renewed?.expirationDateTime ?? '') - Date.now()).toBeGreaterThan(69 * 3_600_000);

    const again = await store.subscription(ref);
    if (!again) throw new Error('no subscription');
    await store.saveSubscription({
      ...again,
      expiresAt: new Date(Date.now() + 10 * 3_600_000).toISOString(),
    });
    scenario.local.graph.injectFault({ route: 'PATCH /subscriptions', status: 403, count: 1 });
    expect((await maintain()).join('\n')).toContain('1 failed');
    const response = await fetch(`${host.httpUrl}/api/helpdesks/${desk.id}/importer/status`);
    const body = (await response.json()) as {
      mailboxes: Array<{ notifications: { lastError: { message: string } | null; subscriptionId: string } }>;
    };
    expect(body.mailboxes[0]?.notifications.lastError?.message).toMatch(
      /renew of the notification subscription failed/,
    );
    expect(body.mailboxes[0]?.notifications.subscriptionId).toBe(state.subscriptionId);
    // Unhealthy notifications: the timer polls the mailbox on every tick again.
    const polled: string[] = [];
    await pollMailboxesHandler(timer, invocation('pollMailboxes', polled));
    expect(polled.join('\n')).toContain('1 mailbox job(s)');

    expect((await maintain()).join('\n')).toContain('1 renewed');
    expect((await store.subscription(ref))?.lastError).toBeNull();
    await host.drainQueues();
  });

  it('lifecycle events: reauthorizationRequired renews, subscriptionRemoved recreates, missed runs a full scan', async () => {
    const store = appServices().notificationStore;
    const first = await store.subscription(ref);
    if (!first?.subscriptionId) throw new Error('no subscription');

    scenario.local.graph.sendLifecycleEvent(first.subscriptionId, 'reauthorizationRequired');
    await scenario.local.graph.notificationsSettled();
    const reauthorized = await store.subscription(ref);
    expect(reauthorized?.subscriptionId).toBe(first.subscriptionId);
    expect(reauthorized?.renewedAt).not.toBe(first.renewedAt);

    scenario.local.graph.sendLifecycleEvent(first.subscriptionId, 'subscriptionRemoved');
    await scenario.local.graph.notificationsSettled();
    const recreated = await store.subscription(ref);
    expect(recreated?.subscriptionId).not.toBe(first.subscriptionId);
    expect(scenario.local.graph.subscriptions().map((s) => s.id)).toEqual([recreated?.subscriptionId]);

    // Mail whose notification was lost, then Graph says so: the full scan finds it without the timer.
    scenario.local.graph.injectNotificationFaults({ drop: 1 });
    await deliver('Lost in the storm');
    await scenario.local.graph.notificationsSettled();
    scenario.local.graph.sendLifecycleEvent(recreated?.subscriptionId ?? '', 'missed');
    await waitFor(async () => (await ticketSubjects()).includes('Lost in the storm'));
    expect(lines.some((line) => /importMailbox notify\/main: done/.test(line))).toBe(true);
  });

  it('polls a mailbox whose subscription was made under another secret until the timer recreates it', async () => {
    await host.drainQueues();
    const store = appServices().notificationStore;
    const state = await store.subscription(ref);
    if (!state?.subscriptionId) throw new Error('no subscription');
    // As if NOTIFICATION_CLIENT_STATE_SECRET was rotated since the subscription was made.
    await store.saveSubscription({ ...state, clientStateHash: 'made-under-the-old-secret' });
    const polled: string[] = [];
    await pollMailboxesHandler(timer, invocation('pollMailboxes', polled));
    expect(polled.join('\n')).toContain('1 mailbox job(s)');
    await host.drainQueues();

    expect((await maintain()).join('\n')).toContain('1 created');
    expect((await store.subscription(ref))?.subscriptionId).not.toBe(state.subscriptionId);
    const after: string[] = [];
    await pollMailboxesHandler(timer, invocation('pollMailboxes', after));
    expect(after.join('\n')).toContain('0 mailbox job(s)');
  });

  it('deletes the subscriptions of mailboxes no longer served: removed from the settings, importer disabled, gone at Graph', async () => {
    const store = appServices().notificationStore;
    const other: Helpdesk = testHelpdesk('notify-other', 'first@notify-other.test', {
      enabled: true,
      mailboxes: [
        { id: 'first', userId: 'first@notify-other.test' },
        { id: 'second', userId: 'second@notify-other.test' },
      ],
    });
    await seedHelpdesk(scenario, other);
    expect((await maintain()).join('\n')).toContain('2 created');
    const resources = () => scenario.local.graph.subscriptions().map((s) => s.resource.toLowerCase());
    expect(resources().some((r) => r.includes('second@notify-other.test'))).toBe(true);

    // Mailbox removed from the helpdesk's settings.
    const [first] = other.importer.mailboxes;
    if (!first) throw new Error('no mailbox');
    await scenario.deps.helpdesks.put({ ...other, importer: { ...other.importer, mailboxes: [first] } });
    expect((await maintain()).join('\n')).toContain('1 deleted');
    expect(resources().some((r) => r.includes('second@notify-other.test'))).toBe(false);
    expect(await store.subscription({ helpdeskId: other.id, mailboxId: 'second' })).toBeNull();

    // The helpdesk's importer disabled.
    await scenario.deps.helpdesks.put({
      ...other,
      importer: { ...other.importer, mailboxes: [first], enabled: false },
    });
    expect((await maintain()).join('\n')).toContain('1 deleted');
    expect(resources().some((r) => r.includes('notify-other.test'))).toBe(false);
    expect(await store.subscription({ helpdeskId: other.id, mailboxId: 'first' })).toBeNull();

    // Held for a mailbox whose subscription Graph no longer knows: the 404 is fine, the state goes.
    const gone = { helpdeskId: other.id, mailboxId: 'gone' };
    await store.saveSubscription({
      ...gone,
      subscriptionId: 'unknown-to-graph',
      userId: 'gone@notify-other.test',
      folder: 'inbox',
      expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
      clientStateHash: null,
      renewedAt: null,
      lastError: null,
    });
    const logged = (await maintain()).join('\n');
    expect(logged).toContain('1 deleted');
    expect(logged).toContain('0 failed');
    expect(await store.subscription(gone)).toBeNull();
    // The served mailbox keeps its subscription.
    expect(resources().some((r) => r.includes(DESK))).toBe(true);
  });
});
