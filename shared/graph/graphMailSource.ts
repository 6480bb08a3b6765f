import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { ResponseType, RetryHandlerOptions } from '@microsoft/microsoft-graph-client';
import pLimit, { type LimitFunction } from 'p-limit';
import { z } from 'zod';
import type { GraphClientProvider } from './graphClient.js';
import { GraphRequestError } from './graphRequestError.js';
import { directFolder, mailFolderReference } from './mailFolders.js';
import type {
  DeltaRound,
  DeltaStart,
  ListOptions,
  MailboxLocation,
  MailSource,
  MailSummary,
  OperationResult,
  SourceOperation,
} from './mailSource.js';

export { GraphRequestError } from './graphRequestError.js';

export interface GraphMailSourceOptions {
  /** Tries per request, the first included; default 6. */
  maxAttempts?: number;
  /** Longest a request may spend waiting between tries; a wait that would pass it is not started. Default 2 min. */
  maxRetryWaitMs?: number;
  /** First backoff step when Graph sends no Retry-After; doubles per try, with jitter. Default 1 s. */
  backoffMs?: number;
}

/** Outlook allows 4 concurrent requests per app and mailbox. */
const MAX_IN_FLIGHT_PER_MAILBOX = 4;
const MAX_BATCH_REQUESTS = 20;
const PAGE_SIZE = 1000;
const MAX_BACKOFF_MS = 60_000;
const RETRYABLE_STATUSES = new Set([429, 503, 504]);
/** Every id we hand out or send survives moves between folders. */
const PREFER_IMMUTABLE_IDS = 'IdType="ImmutableId"';
/** Filtering on receivedDateTime first lets Exchange sort by it (else InefficientFilter). */
const BEGINNING_OF_TIME = '1900-01-01T00:00:00Z';
const SUMMARY_FIELDS = 'id,internetMessageId,receivedDateTime,isRead,categories';
/** Delta pages as large as Graph will give; the round is read whole anyway. */
const DELTA_PAGE_SIZE = 200;
/** The codes Graph answers a delta token it no longer knows with (compared without case). */
const EXPIRED_DELTA_CODES = new Set(['syncstatenotfound', 'resyncrequired', 'syncstateinvalid']);
/** This class owns retries (deadline, sendMail only on 429); the SDK's RetryHandler would multiply them. */
const NO_SDK_RETRIES = [new RetryHandlerOptions(0, 0)];

type RetryPolicy = 'transient' | 'throttlingOnly';

/** What the retry loop reads of an answer: the SDK's fetch Response, or a streamed one. */
type GraphAnswer = Pick<Response, 'ok' | 'status' | 'statusText' | 'text'> & {
  headers: { get(name: string): string | null };
};

interface GraphCall {
  userId: string;
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** Relative to the version root, or an absolute `@odata.nextLink`. */
  path: string;
  body?: unknown;
  contentType?: string;
  /** transient: 429, 503, 504 and network errors are retried; throttlingOnly: only 429 (the request was not taken). */
  retry: RetryPolicy;
  /** Mailbox request slots the call occupies; a $batch runs up to 4 of its requests at once. */
  slots?: number;
  /** Preferences besides the immutable ids, e.g. `odata.maxpagesize=200`. */
  prefer?: string;
}

interface BatchStep {
  id: string;
  method: 'GET' | 'PATCH' | 'POST';
  url: string;
  body?: unknown;
  dependsOn?: string[];
}

interface StepOutcome {
  status: number;
  code?: string;
  body?: unknown;
}

const summarySchema = z.object({
  id: z.string(),
  internetMessageId: z.string().nullish(),
  receivedDateTime: z.string(),
  isRead: z.boolean(),
  categories: z.array(z.string()).nullish(),
});
const listPageSchema = z.object({ value: z.array(summarySchema), '@odata.nextLink': z.string().optional() });
const deltaPageSchema = z.object({
  value: z.array(z.union([z.object({ id: z.string(), '@removed': z.object({}).loose() }), summarySchema])),
  '@odata.nextLink': z.string().optional(),
  '@odata.deltaLink': z.string().optional(),
});
const subscriptionSchema = z.object({ id: z.string(), expirationDateTime: z.string() });
const idListSchema = z.object({ value: z.array(z.object({ id: z.string() })) });
const folderSchema = z.object({ id: z.string() });
const userAddressSchema = z.object({
  mail: z.string().nullish(),
  userPrincipalName: z.string().nullish(),
});
const categoriesSchema = z.object({ categories: z.array(z.string()).nullish() });
const batchResponseSchema = z.object({
  responses: z.array(
    z.object({
      id: z.string(),
      status: z.number(),
      headers: z.record(z.string(), z.string()).nullish(),
      body: z.unknown().optional(),
    }),
  ),
});
const errorBodySchema = z.object({ error: z.object({ code: z.string(), message: z.string().optional() }) });

const odataString = (value: string): string => `'${value.replace(/'/g, "''")}'`;
const query = (parameters: Record<string, string>): string =>
  Object.entries(parameters)
    .map(([name, value]) => `${name}=${encodeURIComponent(value)}`)
    .join('&');
const userPath = (userId: string): string => `/users/${encodeURIComponent(userId)}`;
const messagePath = (userId: string, messageId: string): string =>
  `${userPath(userId)}/messages/${encodeURIComponent(messageId)}`;

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Graph no longer knows the delta round's token: start a fresh round (reference §5, "Expired token"). */
export function deltaTokenExpired(error: unknown): boolean {
  return (
    error instanceof GraphRequestError &&
    (error.status === 410 || EXPIRED_DELTA_CODES.has(error.code.toLowerCase()))
  );
}

/** A change-notification subscription on `created` messages of one mailbox folder. */
export interface SubscriptionRequest {
  userId: string;
  /** Well-known name, id or display name, as in the mailbox settings. */
  folder: string;
  notificationUrl: string;
  clientState: string;
  expiresAt: string;
}

export interface GraphSubscription {
  id: string;
  expiresAt: string;
}

const toSummary = (message: z.infer<typeof summarySchema>): MailSummary => ({
  id: message.id,
  internetMessageId: message.internetMessageId ?? null,
  receivedDateTime: message.receivedDateTime,
  isRead: message.isRead,
  categories: message.categories ?? [],
});

const errorCode = (body: unknown): string | undefined => errorBodySchema.safeParse(body).data?.error.code;

/** Retry-After in seconds or as an HTTP date, in milliseconds. */
function retryAfterMs(value: string | null | undefined): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

function headerValue(headers: Record<string, string> | null | undefined, name: string): string | undefined {
  return Object.entries(headers ?? {}).find(([key]) => key.toLowerCase() === name)?.[1];
}

/** Resolves when the promise does; rejects with the signal's reason when it aborts first. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** Waits, unless the signal aborts first: then fails with the signal's reason. */
async function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  try {
    await sleep(ms, undefined, signal ? { signal } : {});
  } catch (error) {
    throw signal?.aborted ? signal.reason : error;
  }
}

function stepsFor(
  userId: string,
  index: number,
  messageId: string,
  operation: SourceOperation,
  categories: string[],
): BatchStep[] {
  const url = messagePath(userId, messageId);
  const move = (id: string, destinationId: string, dependsOn?: string[]): BatchStep => ({
    id,
    method: 'POST',
    url: `${url}/move`,
    body: { destinationId },
    ...(dependsOn ? { dependsOn } : {}),
  });
  const untagged =
    operation.kind !== 'keepAside' && operation.untag !== undefined
      ? { categories: categories.filter((category) => category !== operation.untag) }
      : null;
  /** A move, after taking the tag off when there is one to take off. */
  const moveUntagged = (destinationId: string): BatchStep[] => {
    if (!untagged) return [move(`${index}`, destinationId)];
    const untag: BatchStep = { id: `${index}`, method: 'PATCH', url, body: untagged };
    return [untag, move(`${index}-move`, destinationId, [untag.id])];
  };
  switch (operation.kind) {
    case 'markRead':
      return [{ id: `${index}`, method: 'PATCH', url, body: { isRead: true, ...untagged } }];
    case 'move':
      return moveUntagged(operation.folderId);
    case 'delete':
      // A move, not DELETE: Graph does not say where a deleted item ends up; Deleted Items stays recoverable.
      return moveUntagged('deleteditems');
    case 'keepAside': {
      const tag: BatchStep = {
        id: `${index}`,
        method: 'PATCH',
        url,
        body: { categories: [...new Set([...categories, operation.category])], isRead: false },
      };
      return operation.folderId ? [tag, move(`${index}-move`, operation.folderId, [tag.id])] : [tag];
    }
  }
}

/** Packs whole units (a keep-aside tag and its move stay together) into batches of at most 20 requests. */
function packBatches<T extends { steps: BatchStep[] }>(units: T[]): T[][] {
  const batches: T[][] = [];
  let current: T[] = [];
  let size = 0;
  for (const unit of units) {
    if (size + unit.steps.length > MAX_BATCH_REQUESTS && current.length > 0) {
      batches.push(current);
      current = [];
      size = 0;
    }
    current.push(unit);
    size += unit.steps.length;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/** MailSource over Microsoft Graph v1.0 mail, through the Graph SDK client. */
export class GraphMailSource implements MailSource {
  private readonly client: GraphClientProvider;
  private readonly maxAttempts: number;
  private readonly maxRetryWaitMs: number;
  private readonly backoffMs: number;
  private readonly limiters = new Map<string, LimitFunction>();
  private readonly folderIds = new Map<string, Promise<string>>();

  constructor(client: GraphClientProvider, options: GraphMailSourceOptions = {}) {
    this.client = client;
    this.maxAttempts = options.maxAttempts ?? 6;
    this.maxRetryWaitMs = options.maxRetryWaitMs ?? 120_000;
    this.backoffMs = options.backoffMs ?? 1000;
  }

  /**
   * The whole listing is read before the first page is handed out: Outlook pages with $skip, so
   * marking or moving messages between page reads would shift later pages and skip messages.
   */
  async *listMessages(
    mailbox: MailboxLocation,
    options: ListOptions,
    signal?: AbortSignal,
  ): AsyncIterable<MailSummary[]> {
    const since = options.since ? new Date(options.since).toISOString() : BEGINNING_OF_TIME;
    const filter =
      options.scan === 'unread'
        ? `receivedDateTime ge ${BEGINNING_OF_TIME} and isRead eq false`
        : `receivedDateTime ge ${since}`;
    const folder = await this.resolveFolder(mailbox.userId, mailbox.folder, signal);
    let link: string | undefined =
      `${userPath(mailbox.userId)}/mailFolders/${encodeURIComponent(folder)}/messages?` +
      query({
        $filter: filter,
        $orderby: 'receivedDateTime asc',
        $select: SUMMARY_FIELDS,
        $top: String(PAGE_SIZE),
      });
    const pages: MailSummary[][] = [];
    while (link) {
      const page: z.infer<typeof listPageSchema> = await this.callJson(
        { userId: mailbox.userId, method: 'GET', path: link, retry: 'transient' },
        listPageSchema,
        signal,
      );
      pages.push(page.value.map(toSummary));
      link = page['@odata.nextLink'];
    }
    for (const page of pages) if (page.length > 0) yield page;
  }

  /**
   * Reads every page of the round before answering: the deltaLink comes only with the last page.
   * An item may come back more than once within a round; the last copy counts.
   */
  async deltaMessages(
    mailbox: MailboxLocation,
    start: DeltaStart,
    signal?: AbortSignal,
  ): Promise<DeltaRound> {
    let link: string | undefined;
    if ('deltaLink' in start) link = start.deltaLink;
    else {
      const folder = await this.resolveFolder(mailbox.userId, mailbox.folder, signal);
      link =
        `${userPath(mailbox.userId)}/mailFolders/${encodeURIComponent(folder)}/messages/delta?` +
        query({
          $select: SUMMARY_FIELDS,
          $filter: `receivedDateTime ge ${new Date(start.receivedSince).toISOString()}`,
        });
    }
    const messages = new Map<string, MailSummary>();
    for (;;) {
      const page: z.infer<typeof deltaPageSchema> = await this.callJson(
        {
          userId: mailbox.userId,
          method: 'GET',
          path: link,
          retry: 'transient',
          prefer: `odata.maxpagesize=${DELTA_PAGE_SIZE}`,
        },
        deltaPageSchema,
        signal,
      );
      for (const item of page.value) {
        messages.delete(item.id);
        if (!('@removed' in item)) messages.set(item.id, toSummary(item));
      }
      const deltaLink = page['@odata.deltaLink'];
      if (deltaLink) {
        const oldestFirst = [...messages.values()].sort((a, b) =>
          a.receivedDateTime.localeCompare(b.receivedDateTime),
        );
        return { messages: oldestFirst, deltaLink };
      }
      link = page['@odata.nextLink'];
      if (!link) {
        throw new GraphRequestError(
          `Graph delta of ${mailbox.folder}: a page with neither nextLink nor deltaLink`,
          200,
          'UnexpectedResponse',
          false,
        );
      }
    }
  }

  /**
   * Creates a subscription on new mail in the folder; Graph calls the URL to validate it first. Not
   * retried after an outage answer: a retry could leave two subscriptions.
   */
  async createSubscription(request: SubscriptionRequest, signal?: AbortSignal): Promise<GraphSubscription> {
    const folder = await this.resolveFolder(request.userId, request.folder, signal);
    const created = await this.callJson(
      {
        userId: request.userId,
        method: 'POST',
        path: '/subscriptions',
        body: {
          changeType: 'created',
          notificationUrl: request.notificationUrl,
          lifecycleNotificationUrl: request.notificationUrl,
          resource: `users/${request.userId}/mailFolders('${folder}')/messages`,
          expirationDateTime: request.expiresAt,
          clientState: request.clientState,
          latestSupportedTlsVersion: 'v1_2',
        },
        retry: 'throttlingOnly',
      },
      subscriptionSchema,
      signal,
    );
    return { id: created.id, expiresAt: created.expirationDateTime };
  }

  async renewSubscription(
    userId: string,
    subscriptionId: string,
    expiresAt: string,
    signal?: AbortSignal,
  ): Promise<GraphSubscription> {
    const renewed = await this.callJson(
      {
        userId,
        method: 'PATCH',
        path: `/subscriptions/${encodeURIComponent(subscriptionId)}`,
        body: { expirationDateTime: expiresAt },
        retry: 'transient',
      },
      subscriptionSchema,
      signal,
    );
    return { id: renewed.id, expiresAt: renewed.expirationDateTime };
  }

  async deleteSubscription(userId: string, subscriptionId: string, signal?: AbortSignal): Promise<void> {
    const { release } = await this.exchange(
      {
        userId,
        method: 'DELETE',
        path: `/subscriptions/${encodeURIComponent(subscriptionId)}`,
        retry: 'transient',
      },
      signal,
    );
    release();
  }

  /**
   * Streams the body. The mailbox slot is given back once the headers are in: holding it until the
   * caller closes the stream would let one stream left open block the mailbox for good.
   */
  async fetchMime(userId: string, messageId: string, signal?: AbortSignal): Promise<Readable> {
    const { response, release } = await this.exchangeWith(
      { userId, method: 'GET', path: `${messagePath(userId, messageId)}/$value`, retry: 'transient' },
      signal,
      (call, attemptSignal) =>
        this.client.getStream(call.path, { Prefer: PREFER_IMMUTABLE_IDS }, attemptSignal),
    );
    release();
    // Closing the body before its end (the parser stopped early, the run ended) makes undici emit an
    // abort error; whoever reads it has their own listener, this one only keeps it from going uncaught.
    response.body.on('error', () => {});
    return response.body;
  }

  async applyOperations(
    userId: string,
    operations: Array<{ messageId: string; operation: SourceOperation }>,
    signal?: AbortSignal,
  ): Promise<OperationResult[]> {
    const results: Array<OperationResult | undefined> = operations.map(() => undefined);
    const categories = await this.currentCategories(userId, operations, signal);
    const units: Array<{ index: number; steps: BatchStep[] }> = [];
    for (const [index, { messageId, operation }] of operations.entries()) {
      const current = categories.get(index);
      if (current && 'error' in current) {
        results[index] = { messageId, ok: false, error: current.error };
        continue;
      }
      units.push({ index, steps: stepsFor(userId, index, messageId, operation, current?.categories ?? []) });
    }
    for (const batch of packBatches(units)) {
      const outcomes = await this.batchOutcomes(
        userId,
        batch.flatMap((unit) => unit.steps),
        signal,
      );
      for (const { index, steps } of batch) {
        const messageId = operations[index]?.messageId ?? '';
        const failed = steps
          .map((step) => outcomes.get(step.id))
          .find((outcome) => !outcome || outcome.status < 200 || outcome.status > 299);
        results[index] = failed
          ? { messageId, ok: false, error: failed.code ?? `Http${failed.status}` }
          : { messageId, ok: true };
      }
    }
    return results.map(
      (result, index) => result ?? { messageId: operations[index]?.messageId ?? '', ok: false },
    );
  }

  /**
   * A folder setting as Graph takes it: a well-known name or an id as it is, a display name through
   * Graph. A display name never reaches a URL path, so `..` cannot climb out of mailFolders.
   */
  async resolveFolder(userId: string, folder: string, signal?: AbortSignal): Promise<string> {
    const direct = directFolder(mailFolderReference(folder));
    if (direct !== null) return direct;
    const key = `find\n${userId.toLowerCase()}\n${folder.toLowerCase()}`;
    let id = this.folderIds.get(key);
    if (!id) {
      id = this.findFolder(userId, folder, signal).then((found) => {
        if (found === undefined || mailFolderReference(found).kind !== 'id') {
          throw new GraphRequestError(
            `Graph: no mail folder named ${JSON.stringify(folder)} under the mailbox root`,
            404,
            'ErrorFolderNotFound',
            false,
          );
        }
        return found;
      });
      this.folderIds.set(key, id);
      id.catch(() => this.folderIds.delete(key));
    }
    return id;
  }

  async ensureFolder(userId: string, displayName: string, signal?: AbortSignal): Promise<string> {
    const key = `${userId.toLowerCase()}\n${displayName.toLowerCase()}`;
    let id = this.folderIds.get(key);
    if (!id) {
      id = this.findOrCreateFolder(userId, displayName, signal);
      this.folderIds.set(key, id);
      id.catch(() => this.folderIds.delete(key));
    }
    return id;
  }

  /** Never retried after a 5xx or a network error: the message may have gone out. */
  async sendMime(userId: string, mime: Buffer, signal?: AbortSignal): Promise<void> {
    const { response, release } = await this.exchange(
      {
        userId,
        method: 'POST',
        path: `${userPath(userId)}/sendMail`,
        body: mime.toString('base64'),
        contentType: 'text/plain',
        retry: 'throttlingOnly',
      },
      signal,
    );
    release();
    await response.body?.cancel();
  }

  async mailboxAddress(userId: string, signal?: AbortSignal): Promise<string | null> {
    const user = await this.callJson(
      {
        userId,
        method: 'GET',
        path: `${userPath(userId)}?${query({ $select: 'mail,userPrincipalName' })}`,
        retry: 'transient',
      },
      userAddressSchema,
      signal,
    );
    const address = [user.mail, user.userPrincipalName].find((value) => value?.includes('@'));
    return address ? address.toLowerCase() : null;
  }

  async sentMessageExists(userId: string, internetMessageId: string, signal?: AbortSignal): Promise<boolean> {
    const found = await this.callJson(
      {
        userId,
        method: 'GET',
        path: `${userPath(userId)}/mailFolders/sentitems/messages?${query({
          $filter: `internetMessageId eq ${odataString(internetMessageId)}`,
          $select: 'id',
          $top: '1',
        })}`,
        retry: 'transient',
      },
      idListSchema,
      signal,
    );
    return found.value.length > 0;
  }

  /**
   * Categories of the messages to keep aside or to untag: a PATCH replaces the list, and the tag is added to
   * it or taken off it.
   */
  private async currentCategories(
    userId: string,
    operations: Array<{ messageId: string; operation: SourceOperation }>,
    signal: AbortSignal | undefined,
  ): Promise<Map<number, { categories: string[] } | { error: string }>> {
    const reads: BatchStep[] = operations.flatMap(({ messageId, operation }, index) =>
      operation.kind === 'keepAside' || operation.untag !== undefined
        ? [
            {
              id: `${index}`,
              method: 'GET' as const,
              url: `${messagePath(userId, messageId)}?$select=categories`,
            },
          ]
        : [],
    );
    const categories = new Map<number, { categories: string[] } | { error: string }>();
    for (let start = 0; start < reads.length; start += MAX_BATCH_REQUESTS) {
      const outcomes = await this.batchOutcomes(
        userId,
        reads.slice(start, start + MAX_BATCH_REQUESTS),
        signal,
      );
      for (const [id, outcome] of outcomes) {
        const parsed = categoriesSchema.safeParse(outcome.body);
        categories.set(
          Number(id),
          outcome.status === 200 && parsed.success
            ? { categories: parsed.data.categories ?? [] }
            : { error: outcome.code ?? `Http${outcome.status}` },
        );
      }
    }
    return categories;
  }

  /**
   * Runs the steps as $batch calls, retrying the steps Graph throttled or could not serve after their
   * Retry-After. A failed $batch call fails all its steps with the call's error code.
   */
  private async batchOutcomes(
    userId: string,
    steps: BatchStep[],
    signal: AbortSignal | undefined,
  ): Promise<Map<string, StepOutcome>> {
    const outcomes = new Map<string, StepOutcome>();
    const started = Date.now();
    let pending = steps;
    for (let attempt = 1; pending.length > 0; attempt += 1) {
      const pendingIds = new Set(pending.map((step) => step.id));
      let responses: z.infer<typeof batchResponseSchema>['responses'];
      try {
        ({ responses } = await this.callJson(
          {
            userId,
            method: 'POST',
            path: '/$batch',
            body: {
              requests: pending.map((step) => ({
                id: step.id,
                method: step.method,
                url: step.url,
                headers: {
                  Prefer: PREFER_IMMUTABLE_IDS,
                  ...(step.body === undefined ? {} : { 'Content-Type': 'application/json' }),
                },
                ...(step.body === undefined ? {} : { body: step.body }),
                ...(step.dependsOn ? { dependsOn: step.dependsOn.filter((id) => pendingIds.has(id)) } : {}),
              })),
            },
            retry: 'transient',
            slots: Math.min(MAX_IN_FLIGHT_PER_MAILBOX, pending.length),
          },
          batchResponseSchema,
          signal,
        ));
      } catch (error) {
        if (!(error instanceof GraphRequestError)) throw error;
        for (const step of pending) outcomes.set(step.id, { status: error.status, code: error.code });
        break;
      }
      const retry = new Set<string>();
      let waitMs = 0;
      for (const response of responses) {
        const outcome = { status: response.status, code: errorCode(response.body), body: response.body };
        outcomes.set(response.id, outcome);
        if (RETRYABLE_STATUSES.has(response.status)) {
          retry.add(response.id);
          waitMs = Math.max(
            waitMs,
            retryAfterMs(headerValue(response.headers, 'retry-after')) ?? this.backoff(attempt),
          );
        }
      }
      // A step that failed only because a retried step failed is retried with it.
      for (const step of pending) {
        if (outcomes.get(step.id)?.status === 424 && step.dependsOn?.some((id) => retry.has(id)))
          retry.add(step.id);
      }
      if (retry.size === 0) break;
      if (attempt >= this.maxAttempts || Date.now() - started + waitMs > this.maxRetryWaitMs) break;
      await pause(waitMs, signal);
      pending = pending.filter((step) => retry.has(step.id));
    }
    return outcomes;
  }

  private async findOrCreateFolder(
    userId: string,
    displayName: string,
    signal?: AbortSignal,
  ): Promise<string> {
    const existing = await this.findFolder(userId, displayName, signal);
    if (existing) return existing;
    try {
      const created = await this.callJson(
        {
          userId,
          method: 'POST',
          path: `${userPath(userId)}/mailFolders`,
          body: { displayName },
          retry: 'transient',
        },
        folderSchema,
        signal,
      );
      return created.id;
    } catch (error) {
      // Someone else created it meanwhile (400 or 409 depending on the tenant: match the code).
      if (error instanceof GraphRequestError && error.code === 'ErrorFolderExists') {
        const found = await this.findFolder(userId, displayName, signal);
        if (found) return found;
      }
      throw error;
    }
  }

  private async findFolder(
    userId: string,
    displayName: string,
    signal?: AbortSignal,
  ): Promise<string | undefined> {
    const found = await this.callJson(
      {
        userId,
        method: 'GET',
        path: `${userPath(userId)}/mailFolders?${query({
          $filter: `displayName eq ${odataString(displayName)}`,
          $select: 'id,displayName',
          includeHiddenFolders: 'true',
        })}`,
        retry: 'transient',
      },
      idListSchema,
      signal,
    );
    return found.value[0]?.id;
  }

  private async callJson<T>(
    call: GraphCall,
    schema: z.ZodType<T>,
    signal: AbortSignal | undefined,
  ): Promise<T> {
    const { response, release } = await this.exchange(call, signal);
    try {
      const parsed = schema.safeParse(parseJson(await response.text()));
      if (!parsed.success) {
        throw new GraphRequestError(
          `Graph ${call.method} ${call.path}: unexpected response body`,
          response.status,
          'UnexpectedResponse',
          false,
        );
      }
      return parsed.data;
    } finally {
      release();
    }
  }

  /**
   * Sends the call until it succeeds or may not be retried. On success the caller gets the response
   * with the mailbox slot still held, and releases it.
   */
  private exchange(
    call: GraphCall,
    signal: AbortSignal | undefined,
  ): Promise<{ response: Response; release: () => void }> {
    return this.exchangeWith(call, signal, (attempt, attemptSignal) => this.send(attempt, attemptSignal));
  }

  /** One Graph call with this class's slots, retries and error mapping, sent by `send`. */
  private async exchangeWith<R extends GraphAnswer>(
    call: GraphCall,
    signal: AbortSignal | undefined,
    send: (call: GraphCall, signal: AbortSignal | undefined) => Promise<R>,
  ): Promise<{ response: R; release: () => void }> {
    const started = Date.now();
    for (let attempt = 1; ; attempt += 1) {
      const release = await this.holdSlots(call.userId, call.slots ?? 1, signal);
      let failure: GraphRequestError;
      let retryAfter: string | null = null;
      try {
        const response = await send(call, signal);
        if (response.ok) return { response, release };
        retryAfter = response.headers.get('retry-after');
        failure = await this.failure(call, response);
        release();
      } catch (error) {
        release();
        if (signal?.aborted) throw signal.reason;
        if (error instanceof GraphRequestError) throw error;
        failure = new GraphRequestError(
          `Graph ${call.method} ${call.path}: no response`,
          0,
          'NetworkError',
          true,
          {
            cause: error,
          },
        );
      }
      const retryable = call.retry === 'transient' ? failure.retryable : failure.status === 429;
      const waitMs = retryAfterMs(retryAfter) ?? this.backoff(attempt);
      if (!retryable || attempt >= this.maxAttempts || Date.now() - started + waitMs > this.maxRetryWaitMs) {
        throw failure;
      }
      await pause(waitMs, signal);
    }
  }

  private async send(call: GraphCall, signal: AbortSignal | undefined): Promise<Response> {
    const request = this.client()
      .api(call.path)
      .header('Prefer', call.prefer ? `${PREFER_IMMUTABLE_IDS}, ${call.prefer}` : PREFER_IMMUTABLE_IDS)
      .responseType(ResponseType.RAW)
      .middlewareOptions(NO_SDK_RETRIES);
    if (call.contentType) request.header('Content-Type', call.contentType);
    if (signal) request.option('signal', signal);
    const response: unknown =
      call.method === 'GET'
        ? await request.get()
        : call.method === 'PATCH'
          ? await request.patch(call.body)
          : call.method === 'DELETE'
            ? await request.delete()
            : await request.post(call.body);
    if (!(response instanceof Response)) {
      throw new GraphRequestError(
        `Graph ${call.method} ${call.path}: no HTTP response`,
        0,
        'NoResponse',
        true,
      );
    }
    return response;
  }

  private async failure(call: GraphCall, response: GraphAnswer): Promise<GraphRequestError> {
    const body = parseJson(await response.text().catch(() => ''));
    const error = errorBodySchema.safeParse(body).data?.error;
    const code = error?.code ?? `Http${response.status}`;
    return new GraphRequestError(
      `Graph ${call.method} ${call.path} failed with ${response.status} ${code}: ${error?.message ?? response.statusText}`,
      response.status,
      code,
      RETRYABLE_STATUSES.has(response.status),
    );
  }

  /** Exponential backoff with jitter, for throttling answers that carry no Retry-After. */
  private backoff(attempt: number): number {
    const ceiling = Math.min(MAX_BACKOFF_MS, this.backoffMs * 2 ** (attempt - 1));
    return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
  }

  private limiter(userId: string): LimitFunction {
    const key = userId.toLowerCase();
    let limit = this.limiters.get(key);
    if (!limit) {
      limit = pLimit(MAX_IN_FLIGHT_PER_MAILBOX);
      this.limiters.set(key, limit);
    }
    return limit;
  }

  /**
   * Takes `count` of the mailbox's request slots until the returned function is called. The slots
   * of one call are queued together, and p-limit starts work in order, so two calls never deadlock.
   */
  private async holdSlots(
    userId: string,
    count: number,
    signal: AbortSignal | undefined,
  ): Promise<() => void> {
    const limit = this.limiter(userId);
    let release = (): void => undefined;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const held = Array.from(
      { length: count },
      () =>
        new Promise<void>((started) => {
          void limit(() => {
            started();
            return released;
          });
        }),
    );
    try {
      await abortable(Promise.all(held), signal);
    } catch (error) {
      release();
      throw error;
    }
    return release;
  }
}
