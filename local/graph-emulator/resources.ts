import { type Mailbox, type MailFolder, messageBody, type StoredMessage } from './mailbox.js';
import type { MailAddress } from './mimeHeaders.js';
import type { CollectionShape } from './odataQuery.js';

/** Properties returned when `$select` is absent; `internetMessageHeaders` and `uniqueBody` only when selected. */
const DEFAULT_MESSAGE_PROPERTIES = [
  'createdDateTime',
  'lastModifiedDateTime',
  'changeKey',
  'categories',
  'receivedDateTime',
  'sentDateTime',
  'hasAttachments',
  'internetMessageId',
  'subject',
  'bodyPreview',
  'importance',
  'parentFolderId',
  'conversationId',
  'isDeliveryReceiptRequested',
  'isReadReceiptRequested',
  'isRead',
  'isDraft',
  'webLink',
  'inferenceClassification',
  'body',
  'sender',
  'from',
  'toRecipients',
  'ccRecipients',
  'bccRecipients',
  'replyTo',
  'flag',
] as const;

const MESSAGE_PROPERTIES = [
  'id',
  ...DEFAULT_MESSAGE_PROPERTIES,
  'internetMessageHeaders',
  'uniqueBody',
] as const;

export const messageCollection: CollectionShape<StoredMessage> = {
  properties: {
    isRead: { type: 'boolean', value: (message) => message.isRead },
    isDraft: { type: 'boolean', value: () => false },
    receivedDateTime: { type: 'dateTime', value: (message) => message.receivedDateTime },
    sentDateTime: { type: 'dateTime', value: (message) => message.sentDateTime },
    createdDateTime: { type: 'dateTime', value: (message) => message.createdDateTime },
    lastModifiedDateTime: { type: 'dateTime', value: (message) => message.lastModifiedDateTime },
    internetMessageId: { type: 'string', value: (message) => message.headers.internetMessageId },
    subject: { type: 'string', value: (message) => message.headers.subject },
    conversationId: { type: 'string', value: (message) => message.conversationId },
    importance: { type: 'string', value: (message) => message.importance },
    'from/emailAddress/address': {
      type: 'string',
      value: (message) => message.headers.from?.address ?? null,
    },
  },
  selectable: MESSAGE_PROPERTIES,
  defaultOrder: [{ property: 'receivedDateTime', descending: true }],
};

export const folderCollection: CollectionShape<MailFolder> = {
  properties: {
    displayName: { type: 'string', value: (folder) => folder.displayName },
    isHidden: { type: 'boolean', value: (folder) => folder.isHidden },
    parentFolderId: { type: 'string', value: (folder) => folder.parentFolderId },
  },
  selectable: [
    'id',
    'displayName',
    'parentFolderId',
    'childFolderCount',
    'unreadItemCount',
    'totalItemCount',
    'isHidden',
  ],
  defaultOrder: [],
};

const recipient = (address: MailAddress): { emailAddress: { name: string; address: string } } => ({
  emailAddress: { name: address.name || address.address, address: address.address },
});

export interface MessageRendering {
  immutableIds: boolean;
  select: readonly string[] | undefined;
  bodyContentType: 'text' | 'html' | undefined;
}

const BODY_PROPERTIES = new Set(['body', 'uniqueBody', 'bodyPreview', 'hasAttachments']);

export const etag = (changeKey: string): string => `W/"${changeKey}"`;

/** A message as Graph returns it; `id` and `@odata.etag` are always there, whatever `$select` says. */
export async function messageResource(
  message: StoredMessage,
  rendering: MessageRendering,
): Promise<Record<string, unknown>> {
  const properties = rendering.select ?? DEFAULT_MESSAGE_PROPERTIES;
  const needsBody = properties.some((property) => BODY_PROPERTIES.has(property));
  const body = needsBody ? await messageBody(message) : undefined;
  const contentType = rendering.bodyContentType ?? 'html';
  const content = contentType === 'text' ? (body?.text ?? '') : (body?.html ?? '');
  const { headers } = message;
  const values: Record<string, () => unknown> = {
    createdDateTime: () => message.createdDateTime,
    lastModifiedDateTime: () => message.lastModifiedDateTime,
    changeKey: () => message.changeKey,
    categories: () => [...message.categories],
    receivedDateTime: () => message.receivedDateTime,
    sentDateTime: () => message.sentDateTime,
    hasAttachments: () => body?.hasAttachments ?? false,
    internetMessageId: () => headers.internetMessageId,
    subject: () => headers.subject,
    bodyPreview: () => (body?.text ?? '').replace(/\s+/g, ' ').trim().slice(0, 255),
    importance: () => message.importance,
    parentFolderId: () => message.folderId,
    conversationId: () => message.conversationId,
    isDeliveryReceiptRequested: () => false,
    isReadReceiptRequested: () => false,
    isRead: () => message.isRead,
    isDraft: () => false,
    webLink: () => `https://outlook.office365.com/owa/?ItemID=${encodeURIComponent(message.immutableId)}`,
    inferenceClassification: () => message.inferenceClassification,
    body: () => ({ contentType, content }),
    uniqueBody: () => ({ contentType, content }),
    sender: () => (headers.sender ? recipient(headers.sender) : null),
    from: () => (headers.from ? recipient(headers.from) : null),
    toRecipients: () => headers.to.map(recipient),
    ccRecipients: () => headers.cc.map(recipient),
    bccRecipients: () => headers.bcc.map(recipient),
    replyTo: () => headers.replyTo.map(recipient),
    flag: () => ({ flagStatus: message.flagStatus }),
    internetMessageHeaders: () => headers.lines.map(({ name, value }) => ({ name, value })),
  };
  const resource: Record<string, unknown> = {
    '@odata.etag': etag(message.changeKey),
    id: rendering.immutableIds ? message.immutableId : message.restId,
  };
  for (const property of properties) {
    const value = values[property];
    if (value) resource[property] = value();
  }
  return resource;
}

export function folderResource(
  mailbox: Mailbox,
  folder: MailFolder,
  select?: readonly string[],
): Record<string, unknown> {
  const messages = mailbox.messages(folder);
  const resource: Record<string, unknown> = {
    id: folder.id,
    displayName: folder.displayName,
    parentFolderId: folder.parentFolderId,
    childFolderCount: mailbox.childFolders(folder).length,
    unreadItemCount: messages.filter((message) => !message.isRead).length,
    totalItemCount: messages.length,
    isHidden: folder.isHidden,
  };
  return select
    ? Object.fromEntries(Object.entries(resource).filter(([name]) => name === 'id' || select.includes(name)))
    : resource;
}
