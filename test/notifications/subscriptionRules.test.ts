import { describe, expect, it } from 'vitest';
import { pollDue } from '../../shared/import/pollMailboxes.js';
import {
  clientStateFor,
  clientStateHash,
  clientStateMatches,
  notificationUrlFor,
} from '../../shared/notifications/clientState.js';
import type { SubscriptionState } from '../../shared/notifications/ports.js';
import {
  notificationsHealthy,
  RENEW_WHEN_LEFT_MS,
  subscriptionAction,
} from '../../shared/notifications/subscriptions.js';
import { busyRetry, type ImportJob } from '../../shared/queue/importJobs.js';

const SECRET = 'a-secret-of-at-least-thirty-two-characters';
const ref = { helpdeskId: 'desk', mailboxId: 'main' };
const now = new Date('2026-12-05T12:00:00Z');
const mailbox = { userId: 'desk@example.com', folder: 'inbox' };
const hash = clientStateHash(clientStateFor(SECRET, ref));

function state(hoursLeft: number, changes: Partial<SubscriptionState> = {}): SubscriptionState {
  return {
    ...ref,
    subscriptionId: 'sub-1',
    ...mailbox,
    expiresAt: new Date(now.getTime() + hoursLeft * 3_600_000).toISOString(),
    clientStateHash: hash,
    renewedAt: now.toISOString(),
    lastError: null,
    ...changes,
  };
}

describe('clientState', () => {
  it("differs per mailbox and per secret, fits Graph's 128 characters, and is checked exactly", () => {
    const value = clientStateFor(SECRET, ref);
    expect(value.length).toBeLessThanOrEqual(128);
    expect(clientStateFor(SECRET, { ...ref, mailboxId: 'other' })).not.toBe(value);
    expect(clientStateFor(`${SECRET}!`, ref)).not.toBe(value);
    expect(clientStateMatches(SECRET, ref, value)).toBe(true);
    expect(clientStateMatches(SECRET, ref, value.slice(0, -1))).toBe(false);
    expect(clientStateMatches(SECRET, ref, null)).toBe(false);
    expect(clientStateMatches(SECRET, { ...ref, helpdeskId: 'other' }, value)).toBe(false);
  });

  it('names the mailbox in the notification URL, keeping what the URL had', () => {
    const url = new URL(notificationUrlFor('https://app.example/api/notifications?code=k', ref));
    expect(url.searchParams.get('code')).toBe('k');
    expect(url.searchParams.get('helpdeskId')).toBe('desk');
    expect(url.searchParams.get('mailboxId')).toBe('main');
  });
});

describe('subscription upkeep', () => {
  it('creates a missing or lapsed subscription, renews inside the window, leaves a fresh one', () => {
    expect(subscriptionAction(null, mailbox, hash, now)).toBe('create');
    expect(subscriptionAction(state(-1), mailbox, hash, now)).toBe('create');
    expect(subscriptionAction(state(RENEW_WHEN_LEFT_MS / 3_600_000 - 1), mailbox, hash, now)).toBe('renew');
    expect(subscriptionAction(state(70), mailbox, hash, now)).toBe('none');
  });

  it('recreates for another mailbox or folder, and after the secret changed', () => {
    expect(subscriptionAction(state(70, { folder: 'Support' }), mailbox, hash, now)).toBe('recreate');
    expect(subscriptionAction(state(70, { userId: 'other@example.com' }), mailbox, hash, now)).toBe(
      'recreate',
    );
    const rotated = clientStateHash(clientStateFor(`${SECRET}-rotated`, ref));
    expect(subscriptionAction(state(70), mailbox, rotated, now)).toBe('recreate');
  });

  it('counts notifications healthy only with a live subscription whose last renewal worked', () => {
    expect(notificationsHealthy(state(10), now)).toBe(true);
    expect(notificationsHealthy(state(-1), now)).toBe(false);
    expect(notificationsHealthy(state(10, { lastError: { at: now.toISOString(), message: 'x' } }), now)).toBe(
      false,
    );
    expect(notificationsHealthy(null, now)).toBe(false);
  });
});

describe('the timer as safety net', () => {
  const interval = 30 * 60_000;
  const minutesAgo = (minutes: number) => new Date(now.getTime() - minutes * 60_000).toISOString();

  it('polls every tick without healthy notifications, else once the last run is older than the interval', () => {
    expect(pollDue(null, minutesAgo(1), now, interval)).toBe(true);
    expect(pollDue(state(10), minutesAgo(1), now, interval)).toBe(false);
    expect(pollDue(state(10), minutesAgo(31), now, interval)).toBe(true);
    expect(pollDue(state(10), null, now, interval)).toBe(true);
  });

  it('polls at the normal interval while the subscription was made under another secret (rotation)', () => {
    const rotated = clientStateHash(clientStateFor(`${SECRET}-rotated`, ref));
    expect(pollDue(state(10), minutesAgo(1), now, interval, hash)).toBe(false);
    expect(pollDue(state(10), minutesAgo(1), now, interval, rotated)).toBe(true);
    expect(notificationsHealthy(state(10), now, rotated)).toBe(false);
  });
});

describe('a notification job that found the mailbox busy', () => {
  const job: ImportJob = { ...ref, reason: 'notification', enqueuedAt: now.toISOString() };

  it('is put back a bounded number of times; timer jobs are not', () => {
    expect(busyRetry(job, 'busy')).toEqual({ ...job, requeued: 1 });
    expect(busyRetry(job, 'done')).toBeNull();
    expect(busyRetry({ ...job, reason: 'timer' }, 'busy')).toBeNull();
    expect(busyRetry({ ...job, requeued: 20 }, 'busy')).toBeNull();
  });
});
