import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { generate } from 'selfsigned';
import { z } from 'zod';
import type { Fault } from './faults.js';
import { errorEnvelope } from './graphErrors.js';
import { GraphService } from './graphService.js';
import { type Mailbox, messageBody, type StoredMessage } from './mailbox.js';
import type { EmulatedResponse } from './routes.js';
import type { LifecycleEvent, NotificationFaults, Subscription } from './subscriptions.js';

export type { Fault } from './faults.js';
export type { LifecycleEvent, NotificationFaults, Subscription } from './subscriptions.js';

export interface GraphEmulatorOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  /** Where DELETE puts a message: Deleted Items (default) or nowhere. */
  deleteMovesToDeletedItems?: boolean;
  /** Largest sendMail request body; default 4 MB, larger gets 413. */
  sendMailMaxBytes?: number;
  /** Requests one mailbox may have in flight before 429 ApplicationThrottled; default 4, false for no limit. */
  mailboxConcurrencyLimit?: number | false;
  /** Status of ErrorFolderExists; default 400. */
  folderExistsStatus?: 400 | 409;
  /** Longest subscription lifetime in minutes; default 4 230, as the reference gives for Outlook mail. */
  maxSubscriptionMinutes?: number;
  /** Largest delta page, whatever odata.maxpagesize asks for; default 1000. */
  deltaPageSizeLimit?: number;
  /** How long after sendMail's 202 the copy shows in Sent Items; default 0 (at once). */
  sentItemsDelayMs?: number;
}

/** One message as the emulator holds it, for assertions. */
export interface EmulatedMessageView {
  id: string;
  immutableId: string;
  /** Well-known name of the folder, or its display name. */
  folder: string;
  isRead: boolean;
  categories: string[];
  internetMessageId: string | null;
  subject: string;
  /** Sender address. */
  from: string | null;
  receivedDateTime: string;
  /** Size of the raw MIME in bytes. */
  size: number;
}

export interface GraphEmulator {
  /** E.g. https://127.0.0.1:PORT; clients use `${url}/v1.0`. */
  readonly url: string;
  /** The self-signed certificate clients must trust. */
  readonly caCertPem: string;
  /** The address defaults to the user id when it holds an @. */
  addMailbox(userId: string, options?: { address?: string; displayName?: string }): void;
  /** Returns the immutable id; the mailbox is created when missing; folder defaults to inbox. */
  deliver(
    userId: string,
    rawMime: Buffer | string,
    options?: { folder?: string; receivedDateTime?: string; isRead?: boolean },
  ): string;
  /** Messages of the mailbox, or of one folder (well-known name, display name or id), oldest first. */
  messages(userId: string, folder?: string): EmulatedMessageView[];
  rawMime(userId: string, messageId: string): Buffer;
  /**
   * Works out the body of every message of the mailbox now. Graph has a message's body from delivery; the
   * emulator parses a message's MIME the first time an answer shows its body (a PATCH answers with the
   * whole message), which a measurement of the client should not count.
   */
  prepareBodies(userId: string): Promise<void>;
  /** HTTP calls per route key, plus `batched:<route key>` for each request inside a $batch. */
  counters(): Record<string, number>;
  resetCounters(): void;
  /** Most requests the mailbox had in flight at once since the last reset, refused ones included. */
  peakConcurrency(userId: string): number;
  /** The next `count` matching requests fail with `status`. */
  injectFault(fault: Fault): void;
  /** Delay added to every Graph request (inside a $batch too). */
  setLatency(ms: number): void;
  /** How long after sendMail's 202 the copy shows in Sent Items, as Graph saves it asynchronously. */
  setSentItemsDelay(ms: number): void;
  /** Every delta and skip token is forgotten: the next use of one answers 410 SyncStateNotFound. */
  expireDeltaTokens(): void;
  /** Active change-notification subscriptions. */
  subscriptions(): Subscription[];
  /** Drops or duplicates the next notifications. */
  injectNotificationFaults(faults: NotificationFaults): void;
  /** Sends a lifecycle event for the subscription (subscriptionRemoved also removes it). */
  sendLifecycleEvent(subscriptionId: string, event: LifecycleEvent): void;
  /** Ends the subscription now, as if it had expired. */
  expireSubscription(subscriptionId: string): void;
  /** Resolves once every notification sent so far was answered (or given up). */
  notificationsSettled(): Promise<void>;
  close(): Promise<void>;
}

const DEFAULT_SEND_MAIL_MAX_BYTES = 4 * 1024 * 1024;
/** No request body the emulator accepts is larger; sendMail's own limit is lower. */
const MAX_REQUEST_BYTES = 64 * 1024 * 1024;

async function selfSignedCertificate(): Promise<{ key: string; cert: string }> {
  const pems = await generate([{ name: 'commonName', value: '127.0.0.1' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 7, ip: '127.0.0.1' },
          { type: 2, value: 'localhost' },
        ],
      },
    ],
  });
  return { key: pems.private, cert: pems.cert };
}

function view(mailbox: Mailbox, message: StoredMessage): EmulatedMessageView {
  return {
    id: message.restId,
    immutableId: message.immutableId,
    folder: mailbox.folderName(message),
    isRead: message.isRead,
    categories: [...message.categories],
    internetMessageId: message.headers.internetMessageId,
    subject: message.headers.subject,
    from: message.headers.from?.address ?? null,
    receivedDateTime: message.receivedDateTime,
    size: message.raw.length,
  };
}

function messageViews(service: GraphService, userId: string, folder?: string): EmulatedMessageView[] {
  const mailbox = service.existingMailbox(userId);
  const wanted = folder === undefined ? undefined : mailbox.folderByAnyName(folder);
  if (folder !== undefined && !wanted) throw new Error(`No folder ${folder} in mailbox ${userId}`);
  return mailbox
    .messages(wanted)
    .sort((a, b) => a.receivedDateTime.localeCompare(b.receivedDateTime) || a.sequence - b.sequence)
    .map((message) => view(mailbox, message));
}

async function readBody(request: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buffer.length;
    if (size > MAX_REQUEST_BYTES) return undefined;
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}

function send(response: ServerResponse, result: EmulatedResponse): void {
  const headers: Record<string, string> = { ...result.headers };
  let payload: Buffer | undefined;
  if (Buffer.isBuffer(result.body)) payload = result.body;
  else if (result.body !== undefined) {
    payload = Buffer.from(JSON.stringify(result.body));
    headers['Content-Type'] ??= 'application/json;odata.metadata=minimal;odata.streaming=true;charset=utf-8';
  }
  response.writeHead(result.status, headers);
  response.end(payload);
}

const faultSchema = z.object({
  route: z.string().optional(),
  method: z.string().optional(),
  status: z.union([z.literal(403), z.literal(429), z.literal(503), z.literal(504)]),
  retryAfterSeconds: z.number().nonnegative().optional(),
  code: z.string().optional(),
  count: z.number().int().positive(),
  latencyMs: z.number().nonnegative().optional(),
  inBatch: z.boolean().optional(),
});

const notificationFaultsSchema = z.object({
  drop: z.number().int().nonnegative().optional(),
  duplicate: z.number().int().nonnegative().optional(),
});

const mailboxSchema = z.object({
  userId: z.string().min(1),
  address: z.string().optional(),
  displayName: z.string().optional(),
});

/** The emulator's own API for a demo or benchmark in another process; no auth. */
function control(service: GraphService, method: string, url: URL, body: Buffer): EmulatedResponse {
  const path = url.pathname.slice('/_emulator'.length);
  const jsonBody = (): unknown => JSON.parse(body.toString('utf8') || '{}');
  const ok = (status: number, value?: unknown): EmulatedResponse => ({ status, headers: {}, body: value });
  const mailboxMessages = /^\/mailboxes\/([^/]+)\/messages$/.exec(path);
  if (method === 'POST' && mailboxMessages?.[1]) {
    const isRead = url.searchParams.get('isRead');
    const message = service.deliver(decodeURIComponent(mailboxMessages[1]), body, {
      folder: url.searchParams.get('folder') ?? undefined,
      receivedDateTime: url.searchParams.get('receivedDateTime') ?? undefined,
      isRead: isRead === null ? undefined : isRead === 'true',
    });
    return ok(201, { id: message.immutableId });
  }
  const mailboxPath = /^\/mailboxes\/([^/]+)$/.exec(path);
  if (method === 'GET' && mailboxPath?.[1]) {
    const userId = decodeURIComponent(mailboxPath[1]);
    const mailbox = service.mailbox(userId);
    if (!mailbox) return ok(404, { error: `No emulated mailbox ${userId}` });
    return ok(200, {
      userId: mailbox.userId,
      address: mailbox.address,
      displayName: mailbox.displayName,
      messages: messageViews(service, userId),
    });
  }
  if (method === 'POST' && path === '/mailboxes') {
    const { userId, ...options } = mailboxSchema.parse(jsonBody());
    service.addMailbox(userId, options);
    return ok(201, { userId });
  }
  if (method === 'GET' && path === '/counters') return ok(200, service.counters());
  if (method === 'POST' && path === '/counters/reset') {
    service.resetCounters();
    return ok(204);
  }
  if (method === 'POST' && path === '/faults') {
    service.injectFault(faultSchema.parse(jsonBody()));
    return ok(204);
  }
  if (method === 'POST' && path === '/delta/expire') {
    service.deltaTokens.expireAll();
    return ok(204);
  }
  if (method === 'GET' && path === '/subscriptions') return ok(200, { value: service.subscriptions.list() });
  if (method === 'POST' && path === '/notifications/faults') {
    service.subscriptions.injectFaults(notificationFaultsSchema.parse(jsonBody()));
    return ok(204);
  }
  const lifecycle = /^\/subscriptions\/([^/]+)\/lifecycle$/.exec(path);
  if (method === 'POST' && lifecycle?.[1]) {
    const { event } = z
      .object({ event: z.enum(['reauthorizationRequired', 'subscriptionRemoved', 'missed']) })
      .parse(jsonBody());
    service.subscriptions.lifecycle(decodeURIComponent(lifecycle[1]), event);
    return ok(202);
  }
  if (method === 'POST' && path === '/latency') {
    service.latencyMs = z.object({ ms: z.number().nonnegative() }).parse(jsonBody()).ms;
    return ok(204);
  }
  if (method === 'POST' && path === '/sentItems/delay') {
    service.sentItemsDelayMs = z.object({ ms: z.number().nonnegative() }).parse(jsonBody()).ms;
    return ok(204);
  }
  return ok(404, { error: `No emulator control route ${method} ${url.pathname}` });
}

export async function startGraphEmulator(options: GraphEmulatorOptions = {}): Promise<GraphEmulator> {
  const service = new GraphService({
    deleteMovesToDeletedItems: options.deleteMovesToDeletedItems ?? true,
    sendMailMaxBytes: options.sendMailMaxBytes ?? DEFAULT_SEND_MAIL_MAX_BYTES,
    mailboxConcurrencyLimit: options.mailboxConcurrencyLimit ?? 4,
    folderExistsStatus: options.folderExistsStatus ?? 400,
    maxSubscriptionMinutes: options.maxSubscriptionMinutes ?? 4230,
  });
  if (options.deltaPageSizeLimit !== undefined)
    service.deltaTokens.pageSizeLimit = options.deltaPageSizeLimit;
  service.sentItemsDelayMs = options.sentItemsDelayMs ?? 0;
  const certificate = await selfSignedCertificate();

  const server = createServer(certificate, (request, response) => {
    void (async () => {
      const url = new URL(request.url ?? '/', 'https://127.0.0.1');
      const method = (request.method ?? 'GET').toUpperCase();
      const body = await readBody(request);
      if (!body) {
        const id = randomUUID();
        return send(response, {
          status: 413,
          headers: { 'request-id': id },
          body: errorEnvelope('RequestEntityTooLarge', 'The request body is too large.', id, id),
        });
      }
      if (url.pathname.startsWith('/_emulator/')) {
        try {
          return send(response, control(service, method, url, body));
        } catch (error) {
          return send(response, { status: 400, headers: {}, body: { error: String(error) } });
        }
      }
      if (!url.pathname.startsWith('/v1.0/')) {
        const id = randomUUID();
        return send(response, {
          status: 404,
          headers: { 'request-id': id },
          body: errorEnvelope('ResourceNotFound', 'Resource could not be discovered.', id, id),
        });
      }
      const headers = new Map(
        Object.entries(request.headers).map(([name, value]) => [
          name.toLowerCase(),
          Array.isArray(value) ? value.join(', ') : (value ?? ''),
        ]),
      );
      const result = await service.handle(
        {
          method,
          rawPath: url.pathname.slice('/v1.0'.length),
          rawQuery: (request.url ?? '').split('?').slice(1).join('?'),
          headers,
          body,
        },
        false,
      );
      send(response, result);
    })().catch((error: unknown) => {
      if (response.headersSent) return response.destroy();
      const id = randomUUID();
      const message = error instanceof Error ? error.message : String(error);
      send(response, {
        status: 500,
        headers: { 'request-id': id },
        body: errorEnvelope('InternalServerError', message, id, id),
      });
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  service.baseUrl = `${url}/v1.0`;

  return {
    url,
    caCertPem: certificate.cert,
    addMailbox: (userId, mailboxOptions) => {
      service.addMailbox(userId, mailboxOptions);
    },
    deliver: (userId, rawMime, deliveryOptions = {}) =>
      service.deliver(userId, Buffer.isBuffer(rawMime) ? rawMime : Buffer.from(rawMime), deliveryOptions)
        .immutableId,
    messages: (userId, folder) => messageViews(service, userId, folder),
    prepareBodies: async (userId) => {
      await Promise.all(
        service
          .existingMailbox(userId)
          .messages()
          .map((message) => messageBody(message)),
      );
    },
    rawMime: (userId, messageId) => {
      const message = service.existingMailbox(userId).message(messageId);
      if (!message) throw new Error(`No message ${messageId} in mailbox ${userId}`);
      return message.raw;
    },
    counters: () => service.counters(),
    resetCounters: () => service.resetCounters(),
    peakConcurrency: (userId) => service.peakConcurrency(userId),
    injectFault: (fault) => service.injectFault(fault),
    setLatency: (ms) => {
      service.latencyMs = ms;
    },
    setSentItemsDelay: (ms) => {
      service.sentItemsDelayMs = ms;
    },
    expireDeltaTokens: () => service.deltaTokens.expireAll(),
    subscriptions: () => service.subscriptions.list().map((subscription) => ({ ...subscription })),
    injectNotificationFaults: (faults) => service.subscriptions.injectFaults(faults),
    sendLifecycleEvent: (id, event) => service.subscriptions.lifecycle(id, event),
    expireSubscription: (id) => service.subscriptions.expire(id),
    notificationsSettled: () => service.subscriptions.idle(),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
