import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { badRequest, GraphErrorResponse } from './graphErrors.js';
import type { Mailbox, StoredMessage } from './mailbox.js';
import { etag } from './resources.js';

export type LifecycleEvent = 'reauthorizationRequired' | 'subscriptionRemoved' | 'missed';

export interface Subscription {
  id: string;
  resource: string;
  changeType: string;
  notificationUrl: string;
  lifecycleNotificationUrl: string | null;
  clientState: string | null;
  expirationDateTime: string;
  applicationId: string;
  creatorId: string;
  latestSupportedTlsVersion: string;
}

/** Fault injection on notifications: the next `drop` are never sent, the next `duplicate` are sent twice. */
export interface NotificationFaults {
  drop?: number;
  duplicate?: number;
}

export interface SubscriptionSettings {
  /** Longest lifetime a subscription may ask for; the reference gives 4 230 minutes for Outlook mail. */
  maxExpirationMinutes: number;
  /** How long the notification endpoint may take to answer the validation request. */
  validationTimeoutMs: number;
}

const TENANT_ID = '00000000-0000-4000-8000-000000000001';
const APPLICATION_ID = '00000000-0000-4000-8000-000000000002';
/** Graph retries for hours; a few quick tries are enough locally. */
const NOTIFICATION_TRIES = 3;
const RETRY_PAUSE_MS = 500;
const NOTIFICATION_TIMEOUT_MS = 3_000;
/** `users/{id}/mailFolders('{folder}')/messages`, `users/{id}/mailFolders/{folder}/messages` or `users/{id}/messages`. */
const RESOURCE = /^\/?(?:users|Users)\/([^/]+)\/(?:mailFolders(?:\('([^']+)'\)|\/([^/]+))\/)?messages$/i;

const createSchema = z.object({
  changeType: z.string().min(1),
  notificationUrl: z.url(),
  lifecycleNotificationUrl: z.url().optional(),
  resource: z.string().min(1),
  expirationDateTime: z.iso.datetime({ offset: true }),
  clientState: z.string().max(128).optional(),
  latestSupportedTlsVersion: z.string().optional(),
});
const renewSchema = z.object({ expirationDateTime: z.iso.datetime({ offset: true }) });

/**
 * Graph's `/subscriptions` for Outlook messages: validation handshake on create, `created`
 * notifications when mail arrives in the subscribed folder, expiry, lifecycle events, and faults.
 * Graph demands https notification URLs; the emulator also takes http on loopback, where the local
 * Functions host listens.
 */
export class Subscriptions {
  private readonly subscriptions = new Map<string, Subscription>();
  private readonly faults = { drop: 0, duplicate: 0 };
  private readonly inFlight = new Set<Promise<void>>();
  sent = 0;

  constructor(
    private readonly settings: SubscriptionSettings,
    private readonly findMailbox: (reference: string) => Mailbox | undefined,
  ) {}

  list(): Subscription[] {
    return [...this.subscriptions.values()].filter((subscription) => this.active(subscription));
  }

  injectFaults(faults: NotificationFaults): void {
    this.faults.drop += faults.drop ?? 0;
    this.faults.duplicate += faults.duplicate ?? 0;
  }

  /** Resolves once every notification sent so far has been answered or given up. */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  async create(body: unknown): Promise<Subscription> {
    const parsed = createSchema.safeParse(body);
    if (!parsed.success) {
      throw badRequest(`Invalid subscription: ${parsed.error.issues[0]?.path.join('.')}`, 'InvalidRequest');
    }
    const input = parsed.data;
    for (const url of [input.notificationUrl, input.lifecycleNotificationUrl]) {
      if (url && !allowedUrl(url)) throw badRequest('The notification URL must use https.', 'InvalidRequest');
    }
    if (
      !input.changeType.split(',').every((type) => ['created', 'updated', 'deleted'].includes(type.trim()))
    ) {
      throw badRequest(`Invalid changeType '${input.changeType}'.`, 'InvalidRequest');
    }
    this.target(input.resource);
    const expirationDateTime = this.checkedExpiry(input.expirationDateTime);
    for (const url of [input.notificationUrl, input.lifecycleNotificationUrl]) {
      if (url && !(await this.validates(url))) {
        throw badRequest(
          'Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request.',
          'ValidationError',
        );
      }
    }
    const subscription: Subscription = {
      id: randomUUID(),
      resource: input.resource,
      changeType: input.changeType,
      notificationUrl: input.notificationUrl,
      lifecycleNotificationUrl: input.lifecycleNotificationUrl ?? null,
      clientState: input.clientState ?? null,
      expirationDateTime,
      applicationId: APPLICATION_ID,
      creatorId: APPLICATION_ID,
      latestSupportedTlsVersion: input.latestSupportedTlsVersion ?? 'v1_2',
    };
    this.subscriptions.set(subscription.id, subscription);
    return subscription;
  }

  get(id: string): Subscription {
    const subscription = this.subscriptions.get(id);
    if (!subscription || !this.active(subscription)) {
      throw new GraphErrorResponse(404, 'ResourceNotFound', `The object was not found.`);
    }
    return subscription;
  }

  renew(id: string, body: unknown): Subscription {
    const subscription = this.get(id);
    const parsed = renewSchema.safeParse(body);
    if (!parsed.success) throw badRequest('expirationDateTime is required.', 'InvalidRequest');
    subscription.expirationDateTime = this.checkedExpiry(parsed.data.expirationDateTime);
    return subscription;
  }

  delete(id: string): void {
    this.get(id);
    this.subscriptions.delete(id);
  }

  /** Ends the subscription now, as if its expiry had passed. */
  expire(id: string): void {
    const subscription = this.get(id);
    subscription.expirationDateTime = new Date(Date.now() - 1000).toISOString();
  }

  /** Sends a lifecycle event; `subscriptionRemoved` also removes the subscription, as Graph does. */
  lifecycle(id: string, event: LifecycleEvent): void {
    const subscription = this.get(id);
    if (event === 'subscriptionRemoved') this.subscriptions.delete(id);
    this.post(subscription.lifecycleNotificationUrl ?? subscription.notificationUrl, {
      value: [
        {
          subscriptionId: subscription.id,
          subscriptionExpirationDateTime: subscription.expirationDateTime,
          tenantId: TENANT_ID,
          clientState: subscription.clientState,
          lifecycleEvent: event,
        },
      ],
    });
  }

  /** A message arrived in a mailbox folder: notify every active subscription on it that wants `created`. */
  messageCreated(mailbox: Mailbox, message: StoredMessage): void {
    for (const subscription of this.list()) {
      if (!subscription.changeType.split(',').some((type) => type.trim() === 'created')) continue;
      const target = this.target(subscription.resource);
      if (target.mailbox !== mailbox) continue;
      if (target.folderId !== undefined && target.folderId !== message.folderId) continue;
      if (this.faults.drop > 0) {
        this.faults.drop--;
        continue;
      }
      const notification = {
        value: [
          {
            id: randomUUID(),
            subscriptionId: subscription.id,
            subscriptionExpirationDateTime: subscription.expirationDateTime,
            clientState: subscription.clientState,
            changeType: 'created',
            tenantId: TENANT_ID,
            resource: `Users/${mailbox.id}@${TENANT_ID}/Messages/${message.immutableId}`,
            resourceData: {
              '@odata.type': '#Microsoft.Graph.Message',
              '@odata.id': `Users/${mailbox.id}@${TENANT_ID}/Messages/${message.immutableId}`,
              '@odata.etag': etag(message.changeKey),
              id: message.immutableId,
            },
          },
        ],
      };
      this.post(subscription.notificationUrl, notification);
      if (this.faults.duplicate > 0) {
        this.faults.duplicate--;
        this.post(subscription.notificationUrl, notification);
      }
    }
  }

  private active(subscription: Subscription): boolean {
    return Date.parse(subscription.expirationDateTime) > Date.now();
  }

  private checkedExpiry(requested: string): string {
    const at = Date.parse(requested);
    const latest = Date.now() + this.settings.maxExpirationMinutes * 60_000;
    if (at <= Date.now() || at > latest) {
      throw badRequest(
        `Subscription expiration can only be 0-${this.settings.maxExpirationMinutes} minutes in the future.`,
        'InvalidRequest',
      );
    }
    return new Date(at).toISOString();
  }

  /** The mailbox and folder a subscription resource names; 400 when it names none the emulator has. */
  private target(resource: string): { mailbox: Mailbox; folderId: string | undefined } {
    const match = RESOURCE.exec(resource);
    const mailbox = match?.[1] ? this.findMailbox(decodeURIComponent(match[1])) : undefined;
    if (!match || !mailbox) throw badRequest(`Invalid resource '${resource}'.`, 'InvalidRequest');
    const folderReference = match[2] ?? match[3];
    if (folderReference === undefined) return { mailbox, folderId: undefined };
    const folder = mailbox.folder(decodeURIComponent(folderReference));
    if (!folder) throw badRequest(`Invalid resource '${resource}'.`, 'InvalidRequest');
    return { mailbox, folderId: folder.id };
  }

  private async validates(url: string): Promise<boolean> {
    const token = `Validation: Testing client application reachability for subscription Request-Id: ${randomUUID()}`;
    const target = new URL(url);
    target.searchParams.set('validationToken', token);
    try {
      const response = await fetch(target, {
        method: 'POST',
        headers: { 'Content-Type': 'text/plain; charset=utf-8' },
        signal: AbortSignal.timeout(this.settings.validationTimeoutMs),
      });
      const contentType = response.headers.get('content-type') ?? '';
      return (
        response.status === 200 && contentType.startsWith('text/plain') && (await response.text()) === token
      );
    } catch {
      return false;
    }
  }

  private post(url: string, body: unknown): void {
    const delivery = (async () => {
      for (let attempt = 1; attempt <= NOTIFICATION_TRIES; attempt++) {
        try {
          const response = await fetch(url, {
            method: 'POST',
            headers: { 'Content-Type': 'application/json' },
            body: JSON.stringify(body),
            signal: AbortSignal.timeout(NOTIFICATION_TIMEOUT_MS),
          });
          await response.arrayBuffer();
          if (response.status >= 200 && response.status < 300) break;
          // A 4xx is the receiver refusing this notification; only Graph's own trouble is retried.
          if (response.status < 500) break;
        } catch {
          // Unreachable or too slow: tried again below.
        }
        if (attempt < NOTIFICATION_TRIES) await sleep(RETRY_PAUSE_MS * attempt);
      }
      this.sent++;
    })();
    this.inFlight.add(delivery);
    void delivery.finally(() => this.inFlight.delete(delivery));
  }
}

function allowedUrl(url: string): boolean {
  const parsed = new URL(url);
  return (
    parsed.protocol === 'https:' ||
    (parsed.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(parsed.hostname))
  );
}
