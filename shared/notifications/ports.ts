import type { GraphSubscription, SubscriptionRequest } from '../graph/graphMailSource.js';
import type { MailboxRef } from '../import/ports.js';

/** The change-notification subscription of one mailbox folder, as the app keeps it (R5 notifications). */
export interface SubscriptionState extends MailboxRef {
  /** Graph's subscription id; null until one was created. */
  subscriptionId: string | null;
  /** The mailbox and folder it was made for: a change of settings needs a new one. */
  userId: string;
  folder: string;
  expiresAt: string | null;
  /**
   * SHA-256 of the clientState it was created with: a new secret (rotation) needs a new subscription,
   * as Graph keeps a subscription's clientState for its life.
   */
  clientStateHash: string | null;
  /** When it was last created or renewed. */
  renewedAt: string | null;
  /** The last failure to create or renew it; cleared by the next success. */
  lastError: { at: string; message: string } | null;
}

export interface NotificationStore {
  subscription(ref: MailboxRef): Promise<SubscriptionState | null>;
  saveSubscription(state: SubscriptionState): Promise<void>;
  /** Every subscription state held, of any helpdesk, in pages. */
  subscriptions(): AsyncIterable<SubscriptionState[]>;
  /** Drops the mailbox's subscription state (its subscription was deleted); nothing held is fine. */
  forgetSubscription(ref: MailboxRef): Promise<void>;
  /**
   * Claims the mailbox's next import: true for the first caller; false while an earlier claim's job has
   * not started yet (it will read the mailbox after this notification, so it covers it). A claim older
   * than `staleMs` counts as lost (its job failed or vanished) and is taken over.
   */
  claimImport(ref: MailboxRef, staleMs: number): Promise<boolean>;
  /** The claimed job starts: from now on a notification needs a job of its own. */
  releaseImport(ref: MailboxRef): Promise<void>;
}

/** Graph's `/subscriptions`. */
export interface SubscriptionClient {
  createSubscription(request: SubscriptionRequest, signal?: AbortSignal): Promise<GraphSubscription>;
  renewSubscription(
    userId: string,
    subscriptionId: string,
    expiresAt: string,
    signal?: AbortSignal,
  ): Promise<GraphSubscription>;
  deleteSubscription(userId: string, subscriptionId: string, signal?: AbortSignal): Promise<void>;
}
