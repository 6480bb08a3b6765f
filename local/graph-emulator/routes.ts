import { z } from 'zod';
import { composeMime } from './composeMime.js';
import type { DeltaTokens } from './delta.js';
import { badRequest, GraphErrorResponse, itemNotFound } from './graphErrors.js';
import type { Mailbox, MailFolder, StoredMessage } from './mailbox.js';
import { parseMessageHeaders } from './mimeHeaders.js';
import { nextLink, type Preferences, pageOf, parseSelect, readCollectionQuery } from './odataQuery.js';
import {
  folderCollection,
  folderResource,
  type MessageRendering,
  messageCollection,
  messageResource,
} from './resources.js';

export interface EmulatedRequest {
  method: string;
  /** Path after `/v1.0`, as sent (still percent-encoded). */
  rawPath: string;
  /** Query string without `?`, as sent. */
  rawQuery: string;
  /** Header names in lower case. */
  headers: ReadonlyMap<string, string>;
  body: Buffer;
}

export interface EmulatedResponse {
  status: number;
  headers: Record<string, string>;
  /** A JSON value, raw bytes, or nothing. */
  body?: unknown;
}

/** What a mailbox route can do to the emulator beyond its own mailbox. */
export interface MailRouting {
  readonly baseUrl: string;
  readonly deleteMovesToDeletedItems: boolean;
  readonly sendMailMaxBytes: number;
  readonly folderExistsStatus: 400 | 409;
  readonly deltaTokens: DeltaTokens;
  send(from: Mailbox, raw: Buffer, saveToSentItems: boolean): void;
}

export interface MailboxContext {
  request: EmulatedRequest;
  query: URLSearchParams;
  preferences: Preferences;
  /** Path parameters by name: user, folder, message. */
  params: Readonly<Record<string, string>>;
  mailbox: Mailbox;
  routing: MailRouting;
}

export interface MailboxRoute {
  method: string;
  segments: string[];
  /** E.g. `GET /users/{id}/mailFolders/{folder}/messages`. */
  key: string;
  handle(context: MailboxContext): Promise<EmulatedResponse> | EmulatedResponse;
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}): EmulatedResponse => ({
  status,
  headers,
  body,
});

function jsonBody(request: EmulatedRequest): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(request.body.toString('utf8') || 'null');
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed))
      return parsed as Record<string, unknown>;
  } catch {
    // Reported below, like any other body that is not a JSON object.
  }
  throw badRequest('The request body must be a JSON object.', 'ErrorInvalidRequest');
}

function onlySelect(query: URLSearchParams): void {
  for (const name of query.keys()) {
    if (name.startsWith('$') && name !== '$select')
      throw badRequest(`Query option '${name}' is not supported.`);
  }
}

function folderParam(context: MailboxContext): MailFolder {
  const reference = context.params['folder'] ?? '';
  const folder = context.mailbox.folder(reference);
  if (!folder) throw itemNotFound();
  return folder;
}

function messageParam(context: MailboxContext): StoredMessage {
  if (context.params['folder'] !== undefined) folderParam(context);
  const message = context.mailbox.message(context.params['message'] ?? '');
  if (!message) throw itemNotFound();
  return message;
}

function rendering(context: MailboxContext, select?: readonly string[]): MessageRendering {
  return {
    immutableIds: context.preferences.immutableIds,
    select,
    bodyContentType: context.preferences.bodyContentType,
  };
}

function preferenceApplied(context: MailboxContext): Record<string, string> {
  const applied = [
    ...(context.preferences.maxPageSize !== undefined && !context.query.has('$top')
      ? [`odata.maxpagesize=${context.preferences.maxPageSize}`]
      : []),
    ...(context.preferences.bodyContentType
      ? [`outlook.body-content-type="${context.preferences.bodyContentType}"`]
      : []),
  ];
  return applied.length > 0 ? { 'Preference-Applied': applied.join(', ') } : {};
}

function metadata(context: MailboxContext, path: string, select?: readonly string[]): string {
  const selected = select ? `(${select.join(',')})` : '';
  return `${context.routing.baseUrl}/$metadata#users('${context.mailbox.userId}')/${path}${selected}`;
}

/** One page of a collection: context, optional count, the items, and the next page's full URL. */
function collectionPage(
  context: MailboxContext,
  path: string,
  select: readonly string[] | undefined,
  page: { value: unknown[]; total: number; nextSkip: number | undefined; count: boolean },
): EmulatedResponse {
  const { request, routing } = context;
  return json(
    200,
    {
      '@odata.context': metadata(context, path, select),
      ...(page.count ? { '@odata.count': page.total } : {}),
      value: page.value,
      ...(page.nextSkip === undefined
        ? {}
        : { '@odata.nextLink': nextLink(routing.baseUrl, request.rawPath, request.rawQuery, page.nextSkip) }),
    },
    preferenceApplied(context),
  );
}

async function listMessages(
  context: MailboxContext,
  folder: MailFolder | undefined,
): Promise<EmulatedResponse> {
  const query = readCollectionQuery(context.query, context.preferences, messageCollection);
  const { page, total, nextSkip } = pageOf(context.mailbox.messages(folder), query);
  const value = await Promise.all(
    page.map((message) => messageResource(message, rendering(context, query.select))),
  );
  const path = folder ? `mailFolders('${folder.id}')/messages` : 'messages';
  return collectionPage(context, path, query.select, { value, total, nextSkip, count: query.count });
}

/** `messages/delta` of one folder: pages with `@odata.nextLink`, the last with `@odata.deltaLink`. */
async function messagesDelta(context: MailboxContext): Promise<EmulatedResponse> {
  const folder = folderParam(context);
  const { mailbox, request, routing } = context;
  const page = routing.deltaTokens.page(mailbox.userId, folder, context.query, context.preferences, {
    mark: mailbox.changeMark(),
    since: (mark) => {
      const { changed, removed } = mailbox.changesSince(folder, mark);
      return [
        ...removed.map((entry) => ({ kind: 'removed' as const, entry })),
        ...changed.map((message) => ({ kind: 'changed' as const, message })),
      ];
    },
    all: () =>
      mailbox
        .messages(folder)
        .sort((a, b) => a.changeSequence - b.changeSequence)
        .map((message) => ({ kind: 'changed' as const, message })),
  });
  const immutableIds = context.preferences.immutableIds;
  const value = await Promise.all(
    page.entries.map(async (entry) =>
      entry.kind === 'removed'
        ? {
            '@odata.type': '#microsoft.graph.message',
            id: immutableIds ? entry.entry.immutableId : entry.entry.restId,
            '@removed': { reason: 'deleted' },
          }
        : {
            '@odata.type': '#microsoft.graph.message',
            ...(await messageResource(entry.message, rendering(context, page.query.select))),
          },
    ),
  );
  const link = `${routing.baseUrl}${request.rawPath}?`;
  return json(
    200,
    {
      '@odata.context': `${routing.baseUrl}/$metadata#Collection(message)`,
      ...('skipToken' in page.next
        ? { '@odata.nextLink': `${link}$skiptoken=${page.next.skipToken}` }
        : { '@odata.deltaLink': `${link}$deltatoken=${page.next.deltaToken}` }),
      value,
    },
    context.preferences.maxPageSize !== undefined
      ? { 'Preference-Applied': `odata.maxpagesize=${context.preferences.maxPageSize}` }
      : {},
  );
}

async function getMessage(context: MailboxContext): Promise<EmulatedResponse> {
  onlySelect(context.query);
  const select = parseSelect(context.query, messageCollection);
  const resource = await messageResource(messageParam(context), rendering(context, select));
  return json(200, resource, preferenceApplied(context));
}

/** What may change on a message that is not a draft. */
const messageUpdateSchema = z.object({
  isRead: z.boolean().optional(),
  categories: z.array(z.string()).optional(),
  flag: z.object({ flagStatus: z.enum(['notFlagged', 'flagged', 'complete']) }).optional(),
  importance: z.enum(['low', 'normal', 'high']).optional(),
  inferenceClassification: z.enum(['focused', 'other']).optional(),
});

async function patchMessage(context: MailboxContext): Promise<EmulatedResponse> {
  const message = messageParam(context);
  const changes = jsonBody(context.request);
  const readOnly = Object.keys(changes).find((name) => !(name in messageUpdateSchema.shape));
  if (readOnly) {
    throw badRequest(
      `The property '${readOnly}' can only be updated on a draft message.`,
      'ErrorInvalidPropertyUpdateSentMessage',
    );
  }
  const parsed = messageUpdateSchema.safeParse(changes);
  if (!parsed.success)
    throw badRequest(`Invalid value for property '${parsed.error.issues[0]?.path.join('.')}'.`);
  const update = parsed.data;
  if (update.isRead !== undefined) message.isRead = update.isRead;
  if (update.categories) message.categories = [...update.categories];
  if (update.flag) message.flagStatus = update.flag.flagStatus;
  if (update.importance) message.importance = update.importance;
  if (update.inferenceClassification) message.inferenceClassification = update.inferenceClassification;
  context.mailbox.touch(message);
  return json(200, await messageResource(message, rendering(context)), preferenceApplied(context));
}

function destination(context: MailboxContext): MailFolder {
  const { destinationId } = jsonBody(context.request);
  if (typeof destinationId !== 'string' || destinationId === '') {
    throw badRequest('destinationId is required.', 'ErrorInvalidRequest');
  }
  const folder = context.mailbox.folder(destinationId);
  if (!folder) throw itemNotFound();
  return folder;
}

async function moveMessage(context: MailboxContext): Promise<EmulatedResponse> {
  const message = messageParam(context);
  context.mailbox.move(message, destination(context));
  return json(201, await messageResource(message, rendering(context)), preferenceApplied(context));
}

async function copyMessage(context: MailboxContext): Promise<EmulatedResponse> {
  const copy = context.mailbox.copy(messageParam(context), destination(context));
  return json(201, await messageResource(copy, rendering(context)), preferenceApplied(context));
}

function deleteMessage(context: MailboxContext): EmulatedResponse {
  const message = messageParam(context);
  const deletedItems = context.mailbox.folder('deleteditems');
  // Deleting from Deleted Items goes to Recoverable Items, which Graph does not list.
  if (context.routing.deleteMovesToDeletedItems && deletedItems && message.folderId !== deletedItems.id) {
    context.mailbox.move(message, deletedItems);
  } else {
    context.mailbox.purge(message);
  }
  return { status: 204, headers: {} };
}

function permanentDelete(context: MailboxContext): EmulatedResponse {
  context.mailbox.purge(messageParam(context));
  return { status: 204, headers: {} };
}

function listFolders(context: MailboxContext, parent: MailFolder | undefined): EmulatedResponse {
  const query = readCollectionQuery(context.query, context.preferences, folderCollection);
  const includeHidden = context.query.get('includeHiddenFolders') === 'true';
  const children = context.mailbox
    .childFolders(parent ?? context.mailbox.root)
    .filter((folder) => includeHidden || !folder.isHidden);
  const { page, total, nextSkip } = pageOf(children, query);
  const path = parent ? `mailFolders('${parent.id}')/childFolders` : 'mailFolders';
  const value = page.map((folder) => folderResource(context.mailbox, folder, query.select));
  return collectionPage(context, path, query.select, { value, total, nextSkip, count: query.count });
}

function getFolder(context: MailboxContext): EmulatedResponse {
  onlySelect(context.query);
  const select = parseSelect(context.query, folderCollection);
  return json(200, folderResource(context.mailbox, folderParam(context), select));
}

const newFolderSchema = z.object({ displayName: z.string().trim().min(1), isHidden: z.boolean().optional() });

function createFolder(context: MailboxContext, parent: MailFolder): EmulatedResponse {
  const parsed = newFolderSchema.safeParse(jsonBody(context.request));
  if (!parsed.success) throw badRequest('displayName is required.', 'ErrorInvalidRequest');
  const folder = context.mailbox.createFolder(parent, parsed.data.displayName, parsed.data.isHidden ?? false);
  if (!folder) {
    throw new GraphErrorResponse(
      context.routing.folderExistsStatus,
      'ErrorFolderExists',
      'A folder with the specified name already exists.',
    );
  }
  return json(201, folderResource(context.mailbox, folder));
}

const recipientSchema = z.object({
  emailAddress: z.object({ address: z.string().min(1), name: z.string().optional() }),
});
const recipientsSchema = z.array(recipientSchema).optional();

const sendMailSchema = z.object({
  message: z.object({
    subject: z.string().optional(),
    body: z.object({ contentType: z.string().optional(), content: z.string() }).optional(),
    toRecipients: recipientsSchema,
    ccRecipients: recipientsSchema,
    bccRecipients: recipientsSchema,
    replyTo: recipientsSchema,
    internetMessageHeaders: z.array(z.object({ name: z.string(), value: z.string() })).optional(),
    attachments: z
      .array(z.object({ name: z.string(), contentType: z.string().optional(), contentBytes: z.string() }))
      .optional(),
  }),
  saveToSentItems: z.boolean().optional(),
});

const MAX_CUSTOM_HEADERS = 5;

function decodeMimeBase64(body: Buffer): Buffer {
  const text = body.toString('latin1').replace(/\s+/g, '');
  if (text === '' || text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) {
    throw badRequest('Invalid base64 string for MIME content.', 'ErrorMimeContentInvalidBase64String');
  }
  return Buffer.from(text, 'base64');
}

function composedFromJson(context: MailboxContext): { raw: Buffer; saveToSentItems: boolean } {
  const parsed = sendMailSchema.safeParse(jsonBody(context.request));
  if (!parsed.success) throw badRequest('The sendMail request body is not valid.', 'ErrorInvalidRequest');
  const { message, saveToSentItems } = parsed.data;
  const headers = message.internetMessageHeaders ?? [];
  if (headers.length > MAX_CUSTOM_HEADERS) {
    throw badRequest(
      'Maximum number of headers in one message should be less than or equal to 5.',
      'InvalidInternetMessageHeaderCollection',
    );
  }
  const nonCustom = headers.find((header) => !header.name.toLowerCase().startsWith('x-'));
  if (nonCustom) {
    throw badRequest(
      `The internet message header name '${nonCustom.name}' should start with 'x-' or 'X-'.`,
      'InvalidInternetMessageHeader',
    );
  }
  const addresses = (list: z.infer<typeof recipientsSchema>) =>
    (list ?? []).map(({ emailAddress }) => ({
      name: emailAddress.name ?? '',
      address: emailAddress.address,
    }));
  const raw = composeMime({
    from: { name: context.mailbox.displayName, address: context.mailbox.address },
    subject: message.subject ?? '',
    body: {
      contentType: message.body?.contentType?.toLowerCase() === 'html' ? 'html' : 'text',
      content: message.body?.content ?? '',
    },
    to: addresses(message.toRecipients),
    cc: addresses(message.ccRecipients),
    bcc: addresses(message.bccRecipients),
    replyTo: addresses(message.replyTo),
    headers,
    attachments: (message.attachments ?? []).map((attachment) => ({
      name: attachment.name,
      contentType: attachment.contentType ?? 'application/octet-stream',
      contentBytes: attachment.contentBytes,
    })),
  });
  return { raw, saveToSentItems: saveToSentItems ?? true };
}

function sendMail(context: MailboxContext): EmulatedResponse {
  if (context.request.body.length > context.routing.sendMailMaxBytes) {
    throw new GraphErrorResponse(
      413,
      'ErrorMessageSizeExceeded',
      'The message exceeds the maximum supported size.',
    );
  }
  const contentType = (context.request.headers.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase();
  if (contentType === 'text/plain') {
    const raw = decodeMimeBase64(context.request.body);
    if (parseMessageHeaders(raw).lines.length === 0) {
      throw badRequest('The MIME content has no headers.', 'ErrorMimeContentConversionFailed');
    }
    context.routing.send(context.mailbox, raw, true);
  } else {
    const { raw, saveToSentItems } = composedFromJson(context);
    context.routing.send(context.mailbox, raw, saveToSentItems);
  }
  return { status: 202, headers: {} };
}

/** The user properties Graph returns when no `$select` is given. */
const DEFAULT_USER_PROPERTIES = [
  'businessPhones',
  'displayName',
  'givenName',
  'jobTitle',
  'mail',
  'mobilePhone',
  'officeLocation',
  'preferredLanguage',
  'surname',
  'userPrincipalName',
  'id',
] as const;

/**
 * `GET /users/{id}`: the default properties, or only the selected ones (Graph adds no `id` to a
 * `$select` of a user), with the selection in `@odata.context`.
 */
function getUser(context: MailboxContext): EmulatedResponse {
  onlySelect(context.query);
  const { mailbox } = context;
  const properties: Record<string, unknown> = {
    businessPhones: [],
    displayName: mailbox.displayName,
    givenName: null,
    jobTitle: null,
    mail: mailbox.address,
    mobilePhone: null,
    officeLocation: null,
    preferredLanguage: null,
    surname: null,
    userPrincipalName: mailbox.userPrincipalName,
    id: mailbox.id,
  };
  const selected = context.query
    .get('$select')
    ?.split(',')
    .map((name) => {
      const canonical = Object.keys(properties).find(
        (key) => key.toLowerCase() === name.trim().toLowerCase(),
      );
      if (!canonical) {
        throw badRequest(`Could not find a property named '${name.trim()}' on type 'microsoft.graph.user'.`);
      }
      return canonical;
    });
  const names = selected ?? DEFAULT_USER_PROPERTIES;
  return json(200, {
    '@odata.context': `${context.routing.baseUrl}/$metadata#users${selected ? `(${selected.join(',')})` : ''}/$entity`,
    ...Object.fromEntries(names.map((name) => [name, properties[name]])),
  });
}

type Handler = MailboxRoute['handle'];

const definitions: Array<[string, string, Handler]> = [
  ['GET', '/users/{user}', getUser],
  ['GET', '/users/{user}/mailFolders', (context) => listFolders(context, undefined)],
  ['POST', '/users/{user}/mailFolders', (context) => createFolder(context, context.mailbox.root)],
  ['GET', '/users/{user}/mailFolders/{folder}', getFolder],
  [
    'GET',
    '/users/{user}/mailFolders/{folder}/childFolders',
    (context) => listFolders(context, folderParam(context)),
  ],
  [
    'POST',
    '/users/{user}/mailFolders/{folder}/childFolders',
    (context) => createFolder(context, folderParam(context)),
  ],
  [
    'GET',
    '/users/{user}/mailFolders/{folder}/messages',
    (context) => listMessages(context, folderParam(context)),
  ],
  ['GET', '/users/{user}/messages', (context) => listMessages(context, undefined)],
  // Before the message routes: `delta` would otherwise match as a message id.
  ['GET', '/users/{user}/mailFolders/{folder}/messages/delta', messagesDelta],
  ['POST', '/users/{user}/sendMail', sendMail],
];

/** Message routes exist both directly under the user and under a folder. */
const messageDefinitions: Array<[string, string, Handler]> = [
  ['GET', '', getMessage],
  [
    'GET',
    '/$value',
    (context) => ({
      status: 200,
      headers: { 'Content-Type': 'text/plain' },
      body: messageParam(context).raw,
    }),
  ],
  ['PATCH', '', patchMessage],
  ['DELETE', '', deleteMessage],
  ['POST', '/move', moveMessage],
  ['POST', '/copy', copyMessage],
  ['POST', '/permanentDelete', permanentDelete],
];

for (const [method, suffix, handle] of messageDefinitions) {
  definitions.push([method, `/users/{user}/messages/{message}${suffix}`, handle]);
  definitions.push([method, `/users/{user}/mailFolders/{folder}/messages/{message}${suffix}`, handle]);
}

export const mailboxRoutes: MailboxRoute[] = definitions.map(([method, pattern, handle]) => ({
  method,
  segments: pattern.split('/').slice(1),
  key: `${method} ${pattern.replace(/\{(user|message)\}/g, '{id}')}`,
  handle,
}));

/** Literal segments match in any case, as Graph's do; parameters are percent-decoded. */
export function matchRoute(
  segments: readonly string[],
): Array<{ route: MailboxRoute; params: Record<string, string> }> {
  return mailboxRoutes.flatMap((route) => {
    if (route.segments.length !== segments.length) return [];
    const params: Record<string, string> = {};
    for (const [index, expected] of route.segments.entries()) {
      const actual = segments[index] ?? '';
      const parameter = /^\{(\w+)\}$/.exec(expected)?.[1];
      if (parameter) params[parameter] = actual;
      else if (expected.toLowerCase() !== actual.toLowerCase()) return [];
    }
    return [{ route, params }];
  });
}
