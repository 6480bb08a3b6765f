import type { Container, Database } from '@azure/cosmos';
import type { MailboxRef } from '../import/ports.js';
import type { NotificationStore, SubscriptionState } from '../notifications/ports.js';
import { container, cosmosStatus, readOrNull } from './containers.js';

interface SubscriptionDocument extends SubscriptionState {
  id: string;
  docType: 'notificationSubscription';
}

interface ImportClaimDocument {
  id: string;
  helpdeskId: string;
  docType: 'importClaim';
  /** Epoch milliseconds after which an unreleased claim counts as lost. */
  until: number;
}

/** Subscription state and debounce claims, next to the mailbox status in the helpdesks container. */
export class CosmosNotificationStore implements NotificationStore {
  private readonly helpdesks: Container;

  constructor(database: Database) {
    this.helpdesks = container(database, 'helpdesks');
  }

  async subscription(ref: MailboxRef): Promise<SubscriptionState | null> {
    const found = await readOrNull<SubscriptionDocument>(this.helpdesks, subscriptionId(ref), ref.helpdeskId);
    return found ? subscriptionState(found.resource) : null;
  }

  async *subscriptions(pageSize = 500): AsyncIterable<SubscriptionState[]> {
    const iterator = this.helpdesks.items.query<SubscriptionDocument>(
      {
        query: 'SELECT * FROM c WHERE c.docType = @docType',
        parameters: [{ name: '@docType', value: 'notificationSubscription' }],
      },
      { maxItemCount: pageSize },
    );
    while (iterator.hasMoreResults()) {
      const page = await iterator.fetchNext();
      if (page.resources.length > 0) yield page.resources.map(subscriptionState);
    }
  }

  async forgetSubscription(ref: MailboxRef): Promise<void> {
    try {
      await this.helpdesks.item(subscriptionId(ref), ref.helpdeskId).delete();
    } catch (error) {
      if (cosmosStatus(error) !== 404) throw error;
    }
  }

  async saveSubscription(state: SubscriptionState): Promise<void> {
    await this.helpdesks.items.upsert<SubscriptionDocument>({
      ...state,
      id: subscriptionId(state),
      docType: 'notificationSubscription',
    });
  }

  async claimImport(ref: MailboxRef, windowMs: number): Promise<boolean> {
    const id = `import-claim-${ref.mailboxId}`;
    const now = Date.now();
    const claim: ImportClaimDocument = {
      id,
      helpdeskId: ref.helpdeskId,
      docType: 'importClaim',
      until: now + windowMs,
    };
    const found = await readOrNull<ImportClaimDocument>(this.helpdesks, id, ref.helpdeskId);
    if (found && found.resource.until > now) return false;
    try {
      // Conditional, so of two notifications at the same moment only one enqueues.
      if (found) {
        await this.helpdesks
          .item(id, ref.helpdeskId)
          .replace(claim, { accessCondition: { type: 'IfMatch', condition: found.etag ?? '' } });
      } else {
        await this.helpdesks.items.create(claim);
      }
      return true;
    } catch (error) {
      const status = cosmosStatus(error);
      if (status === 409 || status === 412) return false;
      throw error;
    }
  }

  async releaseImport(ref: MailboxRef): Promise<void> {
    try {
      await this.helpdesks.item(claimId(ref), ref.helpdeskId).delete();
    } catch (error) {
      // Released already (a job retried, or two jobs of one claim).
      if (cosmosStatus(error) !== 404) throw error;
    }
  }
}

const claimId = (ref: MailboxRef): string => `import-claim-${ref.mailboxId}`;
const subscriptionId = (ref: MailboxRef): string => `notification-subscription-${ref.mailboxId}`;

function subscriptionState(state: SubscriptionDocument): SubscriptionState {
  return {
    helpdeskId: state.helpdeskId,
    mailboxId: state.mailboxId,
    subscriptionId: state.subscriptionId,
    userId: state.userId,
    folder: state.folder,
    expiresAt: state.expiresAt,
    // Saved before rotation was noticed: recreated once, with the current secret.
    clientStateHash: state.clientStateHash ?? null,
    renewedAt: state.renewedAt,
    lastError: state.lastError,
  };
}
