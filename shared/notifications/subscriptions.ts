import { GraphRequestError } from '../graph/graphRequestError.js';
import type { Helpdesk, MailboxSettings } from '../helpdesk/settings.js';
import type { ImportLog } from '../import/dependencies.js';
import type { HelpdeskStore, MailboxRef } from '../import/ports.js';
import { clientStateFor, clientStateHash, notificationUrlFor } from './clientState.js';
import type { NotificationStore, SubscriptionClient, SubscriptionState } from './ports.js';

/** Asked for on every create and renewal: under Graph's cap of 4 230 minutes for Outlook mail. */
export const SUBSCRIPTION_LIFETIME_MS = 4_200 * 60_000;
/**
 * Renewed once less than this is left: about half the lifetime, so a timer every 30 minutes has dozens
 * of tries before a subscription lapses.
 */
export const RENEW_WHEN_LEFT_MS = 36 * 3_600_000;

export interface SubscriptionDependencies {
  store: NotificationStore;
  graph: SubscriptionClient;
  /** NOTIFICATION_URL: the notifications function. */
  notificationUrl: string;
  /** NOTIFICATION_CLIENT_STATE_SECRET. */
  secret: string;
  clock: () => Date;
  log: ImportLog;
}

export type SubscriptionAction = 'create' | 'recreate' | 'renew' | 'none';

/** What a mailbox's subscription needs now. */
export function subscriptionAction(
  state: SubscriptionState | null,
  mailbox: Pick<MailboxSettings, 'userId' | 'folder'>,
  clientStateHash: string,
  now: Date,
): SubscriptionAction {
  if (!state?.subscriptionId || !state.expiresAt) return 'create';
  if (
    state.userId !== mailbox.userId ||
    state.folder !== mailbox.folder ||
    state.clientStateHash !== clientStateHash
  )
    return 'recreate';
  if (Date.parse(state.expiresAt) <= now.getTime()) return 'create';
  return Date.parse(state.expiresAt) - now.getTime() < RENEW_WHEN_LEFT_MS ? 'renew' : 'none';
}

/**
 * Notifications can be relied on: a subscription that is not about to lapse, whose last renewal worked
 * and, given the clientState hash under the current secret, that was made under that secret (after a
 * rotation its notifications are refused until the next timer recreates it).
 */
export function notificationsHealthy(
  state: SubscriptionState | null,
  now: Date,
  currentClientStateHash?: string,
): boolean {
  return (
    !!state?.subscriptionId &&
    !!state.expiresAt &&
    state.lastError === null &&
    Date.parse(state.expiresAt) > now.getTime() &&
    (currentClientStateHash === undefined || state.clientStateHash === currentClientStateHash)
  );
}

const errorText = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/**
 * Brings the mailbox's subscription to what it needs (or to `force`): creates, recreates or renews it.
 * A failure is kept on the subscription's state (shown on the mailbox status) and logged, never thrown:
 * polling still finds the mail.
 */
export async function ensureSubscription(
  deps: SubscriptionDependencies,
  ref: MailboxRef,
  mailbox: Pick<MailboxSettings, 'userId' | 'folder'>,
  force?: 'create' | 'renew',
): Promise<{ action: SubscriptionAction; state: SubscriptionState }> {
  const now = deps.clock();
  const stored = await deps.store.subscription(ref);
  const clientState = clientStateFor(deps.secret, ref);
  let action = subscriptionAction(stored, mailbox, clientStateHash(clientState), now);
  if (force === 'create' || (force === 'renew' && action === 'none')) action = force;
  const base: SubscriptionState = stored ?? {
    ...ref,
    subscriptionId: null,
    userId: mailbox.userId,
    folder: mailbox.folder,
    expiresAt: null,
    clientStateHash: null,
    renewedAt: null,
    lastError: null,
  };
  if (action === 'none') return { action, state: base };
  const expiresAt = new Date(now.getTime() + SUBSCRIPTION_LIFETIME_MS).toISOString();
  let state: SubscriptionState;
  try {
    let subscription = null;
    if (action === 'renew' && base.subscriptionId) {
      try {
        subscription = await deps.graph.renewSubscription(mailbox.userId, base.subscriptionId, expiresAt);
      } catch (error) {
        // Gone (expired, removed by Graph): make a new one.
        if (!(error instanceof GraphRequestError && error.status === 404)) throw error;
        action = 'create';
      }
    }
    if (!subscription) {
      if (base.subscriptionId && action !== 'renew') {
        await deps.graph.deleteSubscription(base.userId, base.subscriptionId).catch(() => undefined);
      }
      subscription = await deps.graph.createSubscription({
        userId: mailbox.userId,
        folder: mailbox.folder,
        notificationUrl: notificationUrlFor(deps.notificationUrl, ref),
        clientState,
        expiresAt,
      });
    }
    state = {
      ...base,
      subscriptionId: subscription.id,
      userId: mailbox.userId,
      folder: mailbox.folder,
      expiresAt: subscription.expiresAt,
      clientStateHash: action === 'renew' ? base.clientStateHash : clientStateHash(clientState),
      renewedAt: now.toISOString(),
      lastError: null,
    };
  } catch (error) {
    const message = `${action} of the notification subscription failed: ${errorText(error)}`;
    deps.log.warn(`mailbox ${ref.helpdeskId}/${ref.mailboxId}: ${message}`);
    state = { ...base, lastError: { at: now.toISOString(), message } };
  }
  await deps.store.saveSubscription(state);
  return { action, state };
}

export interface MaintenanceCounts {
  created: number;
  renewed: number;
  unchanged: number;
  failed: number;
  deleted: number;
}

const mailboxKey = (ref: MailboxRef): string => `${ref.helpdeskId}/${ref.mailboxId}`;

/**
 * The timer's work: every mailbox of every enabled helpdesk gets a subscription, renewed well before
 * it expires. Mailboxes outside ALLOWED_MAILBOXES get none. Then the subscriptions of mailboxes no
 * longer served (removed from the settings, helpdesk or importer disabled, no longer allowed) are
 * deleted: else Graph would keep posting their notifications, refused, until they lapse days later.
 */
export async function maintainSubscriptions(
  deps: SubscriptionDependencies & {
    helpdesks: HelpdeskStore;
    mailboxAllowed: (userId: string) => boolean;
  },
): Promise<MaintenanceCounts> {
  const counts: MaintenanceCounts = { created: 0, renewed: 0, unchanged: 0, failed: 0, deleted: 0 };
  const served = new Set<string>();
  const helpdesks = new Map<string, Promise<Helpdesk | null>>();
  for await (const page of deps.helpdesks.enabledMailboxes()) {
    for (const ref of page) {
      let helpdesk = helpdesks.get(ref.helpdeskId);
      if (!helpdesk) {
        helpdesk = deps.helpdesks.get(ref.helpdeskId);
        helpdesks.set(ref.helpdeskId, helpdesk);
      }
      const mailbox = (await helpdesk)?.importer.mailboxes.find((m) => m.id === ref.mailboxId);
      if (!mailbox || !deps.mailboxAllowed(mailbox.userId)) continue;
      served.add(mailboxKey(ref));
      const { action, state } = await ensureSubscription(deps, ref, mailbox);
      if (state.lastError && action !== 'none') counts.failed++;
      else if (action === 'renew') counts.renewed++;
      else if (action === 'none') counts.unchanged++;
      else counts.created++;
    }
  }
  for await (const page of deps.store.subscriptions()) {
    for (const state of page) {
      if (served.has(mailboxKey(state))) continue;
      if (await deleteSubscription(deps, state)) counts.deleted++;
      else counts.failed++;
    }
  }
  return counts;
}

/**
 * Deletes a subscription no mailbox needs any more and forgets it; gone at Graph already (404) is fine.
 * A failure keeps the state, so the next timer tries again.
 */
async function deleteSubscription(
  deps: SubscriptionDependencies,
  state: SubscriptionState,
): Promise<boolean> {
  try {
    if (state.subscriptionId) await deps.graph.deleteSubscription(state.userId, state.subscriptionId);
  } catch (error) {
    if (!(error instanceof GraphRequestError && error.status === 404)) {
      deps.log.warn(
        `mailbox ${mailboxKey(state)}: deleting its notification subscription failed: ${errorText(error)}`,
      );
      return false;
    }
  }
  await deps.store.forgetSubscription(state);
  return true;
}
