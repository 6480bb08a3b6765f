import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { runBatch } from './batch.js';
import { DeltaTokens } from './delta.js';
import { type Fault, FaultPlan, faultError } from './faults.js';
import { badRequest, errorEnvelope, GraphErrorResponse } from './graphErrors.js';
import { type DeliveryOptions, Mailbox, type StoredMessage } from './mailbox.js';
import {
  formatAddress,
  newInternetMessageId,
  parseMessageHeaders,
  withHeaderIfMissing,
} from './mimeHeaders.js';
import { parsePreferences } from './odataQuery.js';
import { type EmulatedRequest, type EmulatedResponse, type MailRouting, matchRoute } from './routes.js';
import { Subscriptions } from './subscriptions.js';

export interface EmulatorSettings {
  deleteMovesToDeletedItems: boolean;
  sendMailMaxBytes: number;
  /** Requests one mailbox may have in flight; false switches the limit off. */
  mailboxConcurrencyLimit: number | false;
  /** Graph usually answers a duplicate folder name with 400, some tenants with 409. */
  folderExistsStatus: 400 | 409;
  /** Longest subscription lifetime in minutes (the reference: 4 230 for Outlook mail). */
  maxSubscriptionMinutes: number;
}

const BATCH_KEY = 'POST /$batch';

/** Mailboxes plus the request pipeline: auth, counters, faults, per-mailbox concurrency, latency, routes. */
export class GraphService implements MailRouting {
  readonly faults = new FaultPlan();
  latencyMs = 0;
  /** How long after sendMail's 202 the copy shows in Sent Items (Graph saves it asynchronously). */
  sentItemsDelayMs = 0;
  baseUrl = '';
  readonly deltaTokens = new DeltaTokens();
  readonly subscriptions: Subscriptions;
  private readonly mailboxes: Mailbox[] = [];
  private readonly counts = new Map<string, number>();
  private readonly inFlight = new Map<Mailbox, number>();
  private readonly peaks = new Map<Mailbox, number>();

  constructor(private readonly settings: EmulatorSettings) {
    this.subscriptions = new Subscriptions(
      { maxExpirationMinutes: settings.maxSubscriptionMinutes, validationTimeoutMs: 10_000 },
      (reference) => this.mailbox(reference),
    );
  }

  get deleteMovesToDeletedItems(): boolean {
    return this.settings.deleteMovesToDeletedItems;
  }

  get sendMailMaxBytes(): number {
    return this.settings.sendMailMaxBytes;
  }

  get folderExistsStatus(): 400 | 409 {
    return this.settings.folderExistsStatus;
  }

  addMailbox(userId: string, options: { address?: string; displayName?: string } = {}): Mailbox {
    const existing = this.mailbox(userId);
    if (existing) return existing;
    const address = options.address ?? (userId.includes('@') ? userId : `${userId}@emulator.invalid`);
    const mailbox = new Mailbox(userId, address, options.displayName ?? address.split('@')[0] ?? userId);
    mailbox.onCreated = (message) => this.subscriptions.messageCreated(mailbox, message);
    this.mailboxes.push(mailbox);
    return mailbox;
  }

  /** By user id, UPN, address (any case) or the mailbox's object id, as Graph's `/users/{id}` accepts. */
  mailbox(reference: string): Mailbox | undefined {
    const wanted = reference.toLowerCase();
    return this.mailboxes.find(
      (mailbox) =>
        mailbox.userId.toLowerCase() === wanted ||
        mailbox.address.toLowerCase() === wanted ||
        mailbox.id === wanted,
    );
  }

  existingMailbox(reference: string): Mailbox {
    const mailbox = this.mailbox(reference);
    if (!mailbox) throw new Error(`No emulated mailbox ${reference}`);
    return mailbox;
  }

  deliver(
    userId: string,
    raw: Buffer,
    options: Omit<DeliveryOptions, 'folderId'> & { folder?: string | undefined },
  ): StoredMessage {
    const mailbox = this.addMailbox(userId);
    const folder = mailbox.folderByAnyName(options.folder ?? 'inbox');
    if (!folder) throw new Error(`No folder ${options.folder} in mailbox ${userId}`);
    return mailbox.deliver(raw, { ...options, folderId: folder.id });
  }

  /** Sent Items of the sender, then the inbox of every recipient the emulator hosts, so loops can be tested. */
  send(from: Mailbox, raw: Buffer, saveToSentItems: boolean): void {
    const domain = from.address.split('@')[1] ?? 'emulator.invalid';
    const message = [
      (mime: Buffer) =>
        withHeaderIfMissing(mime, 'From', formatAddress({ name: from.displayName, address: from.address })),
      (mime: Buffer) => withHeaderIfMissing(mime, 'Date', new Date().toUTCString()),
      (mime: Buffer) => withHeaderIfMissing(mime, 'Message-ID', newInternetMessageId(domain)),
    ].reduce((mime, complete) => complete(mime), raw);
    const sentItems = from.folder('sentitems');
    if (saveToSentItems && sentItems) {
      const save = () => from.deliver(message, { folderId: sentItems.id, isRead: true });
      if (this.sentItemsDelayMs > 0) setTimeout(save, this.sentItemsDelayMs).unref();
      else save();
    }
    const headers = parseMessageHeaders(message);
    const recipients = new Set(
      [...headers.to, ...headers.cc, ...headers.bcc].flatMap(({ address }) => this.mailbox(address) ?? []),
    );
    for (const recipient of recipients) {
      const inbox = recipient.folder('inbox');
      if (inbox) recipient.deliver(message, { folderId: inbox.id });
    }
  }

  counters(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }

  resetCounters(): void {
    this.counts.clear();
    this.peaks.clear();
  }

  /** Most requests the mailbox had in flight at once, refused ones included. */
  peakConcurrency(userId: string): number {
    const mailbox = this.mailbox(userId);
    return mailbox ? (this.peaks.get(mailbox) ?? 0) : 0;
  }

  injectFault(fault: Fault): void {
    this.faults.add(fault);
  }

  /** One Graph request, outside or inside a $batch; failures come back as Graph error responses. */
  async handle(request: EmulatedRequest, inBatch: boolean): Promise<EmulatedResponse> {
    const requestId = randomUUID();
    const clientRequestId = request.headers.get('client-request-id') ?? requestId;
    const ids = { 'request-id': requestId, 'client-request-id': clientRequestId };
    try {
      const response = await this.dispatch(request, inBatch);
      return { ...response, headers: { ...ids, ...response.headers } };
    } catch (error) {
      const failure =
        error instanceof GraphErrorResponse
          ? error
          : new GraphErrorResponse(
              500,
              'InternalServerError',
              error instanceof Error ? error.message : String(error),
            );
      return {
        status: failure.status,
        headers: { ...ids, ...failure.headers },
        body: errorEnvelope(failure.code, failure.message, requestId, clientRequestId),
      };
    }
  }

  private count(key: string, inBatch: boolean): void {
    const name = inBatch ? `batched:${key}` : key;
    this.counts.set(name, (this.counts.get(name) ?? 0) + 1);
  }

  private async failIfFaulted(routeKey: string, request: EmulatedRequest, inBatch: boolean): Promise<void> {
    const fault = this.faults.take({ routeKey, path: request.rawPath, method: request.method, inBatch });
    if (!fault) return;
    if (fault.latencyMs) await sleep(fault.latencyMs);
    throw faultError(fault);
  }

  private async dispatch(request: EmulatedRequest, inBatch: boolean): Promise<EmulatedResponse> {
    if (!inBatch && !/^Bearer\s+\S+/i.test(request.headers.get('authorization') ?? '')) {
      throw new GraphErrorResponse(401, 'InvalidAuthenticationToken', 'Access token is empty.');
    }
    let segments: string[];
    try {
      segments = request.rawPath.split('/').slice(1).map(decodeURIComponent);
    } catch {
      throw badRequest('The request URL is not valid.');
    }
    if (segments.length === 1 && segments[0]?.toLowerCase() === '$batch' && request.method === 'POST') {
      this.count(BATCH_KEY, inBatch);
      if (inBatch) throw badRequest('A batch cannot contain a batch.');
      await this.failIfFaulted(BATCH_KEY, request, inBatch);
      return runBatch(request.body, (inner) => this.handle(inner, true));
    }
    if (segments[0]?.toLowerCase() === 'subscriptions') return this.subscriptionRequest(request, segments);
    const candidates = matchRoute(segments);
    const match = candidates.find(({ route }) => route.method === request.method);
    const routeKey = match?.route.key ?? `${request.method} (unknown route)`;
    this.count(routeKey, inBatch);
    await this.failIfFaulted(routeKey, request, inBatch);
    if (!match) {
      if (candidates.length > 0)
        throw new GraphErrorResponse(405, 'BadRequest', 'The HTTP method is not allowed.');
      throw badRequest(`Resource not found for the segment '${segments.at(-1) ?? ''}'.`);
    }
    const userId = match.params['user'] ?? '';
    const mailbox = this.mailbox(userId);
    if (!mailbox)
      throw new GraphErrorResponse(404, 'ErrorInvalidUser', `The requested user '${userId}' is invalid.`);
    const leave = this.enter(mailbox);
    try {
      if (this.latencyMs > 0) await sleep(this.latencyMs);
      return await match.route.handle({
        request,
        query: new URLSearchParams(request.rawQuery),
        preferences: parsePreferences(request.headers.get('prefer')),
        params: match.params,
        mailbox,
        routing: this,
      });
    } finally {
      leave();
    }
  }

  /** `/subscriptions` and `/subscriptions/{id}`: not below a user, so outside the mailbox routes. */
  private async subscriptionRequest(request: EmulatedRequest, segments: string[]): Promise<EmulatedResponse> {
    const routeKey = `${request.method} /subscriptions${segments.length > 1 ? '/{id}' : ''}`;
    this.count(routeKey, false);
    await this.failIfFaulted(routeKey, request, false);
    const body = (): unknown => {
      try {
        return JSON.parse(request.body.toString('utf8') || 'null');
      } catch {
        throw badRequest('The request body must be a JSON object.', 'InvalidRequest');
      }
    };
    const id = segments[1];
    if (segments.length === 1 && request.method === 'POST') {
      return { status: 201, headers: {}, body: await this.subscriptions.create(body()) };
    }
    if (segments.length === 1 && request.method === 'GET') {
      return { status: 200, headers: {}, body: { value: this.subscriptions.list() } };
    }
    if (segments.length === 2 && id !== undefined) {
      if (request.method === 'GET') return { status: 200, headers: {}, body: this.subscriptions.get(id) };
      if (request.method === 'PATCH') {
        return { status: 200, headers: {}, body: this.subscriptions.renew(id, body()) };
      }
      if (request.method === 'DELETE') {
        this.subscriptions.delete(id);
        return { status: 204, headers: {} };
      }
    }
    throw badRequest(`Resource not found for the segment '${segments.at(-1) ?? ''}'.`);
  }

  private enter(mailbox: Mailbox): () => void {
    const attempted = (this.inFlight.get(mailbox) ?? 0) + 1;
    this.peaks.set(mailbox, Math.max(this.peaks.get(mailbox) ?? 0, attempted));
    const limit = this.settings.mailboxConcurrencyLimit;
    if (limit !== false && attempted > limit) {
      throw new GraphErrorResponse(
        429,
        'ApplicationThrottled',
        'Application is over its MailboxConcurrency limit.',
        {
          'Retry-After': '1',
        },
      );
    }
    this.inFlight.set(mailbox, attempted);
    return () => this.inFlight.set(mailbox, (this.inFlight.get(mailbox) ?? 1) - 1);
  }
}
