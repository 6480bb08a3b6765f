import { randomBytes, randomUUID } from 'node:crypto';
import { simpleParser } from 'mailparser';
import {
  type MessageHeaders,
  newInternetMessageId,
  parseMessageHeaders,
  withHeaderIfMissing,
} from './mimeHeaders.js';

/** Well-known folders directly under the root: well-known name and display name. */
const ROOT_CHILDREN = [
  ['inbox', 'Inbox'],
  ['drafts', 'Drafts'],
  ['sentitems', 'Sent Items'],
  ['deleteditems', 'Deleted Items'],
  ['junkemail', 'Junk Email'],
  ['outbox', 'Outbox'],
  ['archive', 'Archive'],
  ['conversationhistory', 'Conversation History'],
] as const;

export interface MailFolder {
  readonly id: string;
  readonly displayName: string;
  readonly parentFolderId: string;
  readonly wellKnownName: string | undefined;
  readonly isHidden: boolean;
}

/** The body, only parsed when a response needs it (listing 1,000 ids must not parse 1,000 messages). */
export interface MessageBody {
  text: string;
  html: string;
  hasAttachments: boolean;
}

export interface StoredMessage {
  readonly immutableId: string;
  /** The id Graph gives without `Prefer: IdType="ImmutableId"`; it changes on every move. */
  restId: string;
  folderId: string;
  readonly raw: Buffer;
  readonly headers: MessageHeaders;
  readonly conversationId: string;
  readonly sequence: number;
  isRead: boolean;
  categories: string[];
  flagStatus: 'notFlagged' | 'flagged' | 'complete';
  importance: 'low' | 'normal' | 'high';
  inferenceClassification: 'focused' | 'other';
  changeKey: string;
  /** The mailbox's change counter when this message last changed; delta rounds read changes after a mark. */
  changeSequence: number;
  readonly createdDateTime: string;
  lastModifiedDateTime: string;
  readonly receivedDateTime: string;
  readonly sentDateTime: string;
  body?: Promise<MessageBody>;
}

/** A message that left a folder (moved out or purged), for delta's `@removed` entries. */
export interface RemovedMessage {
  immutableId: string;
  restId: string;
  folderId: string;
  changeSequence: number;
}

export interface DeliveryOptions {
  folderId: string;
  receivedDateTime?: string | undefined;
  isRead?: boolean | undefined;
}

const opaqueId = (prefix: string): string => `${prefix}${randomBytes(33).toString('base64url')}AAA=`;
const newChangeKey = (): string => `CQAAABYAAA${randomBytes(15).toString('base64url')}`;

/** Graph reports date-times in UTC with seconds precision. */
export const graphDateTime = (date: Date): string => `${date.toISOString().slice(0, 19)}Z`;

export function messageBody(message: StoredMessage): Promise<MessageBody> {
  message.body ??= simpleParser(message.raw, { skipImageLinks: true, skipTextLinks: true }).then((parsed) => {
    const text = parsed.text ?? '';
    return {
      text,
      html: typeof parsed.html === 'string' ? parsed.html : (parsed.textAsHtml ?? ''),
      hasAttachments: parsed.attachments.some(
        (attachment) => !attachment.related && attachment.contentDisposition !== 'inline',
      ),
    };
  });
  return message.body;
}

/** A Graph user id (an Entra object id). */
const OBJECT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export class Mailbox {
  /** The user's object id: the user id it was added by when that is one. */
  readonly id: string;
  /** The sign-in name; added by object id, the mailbox's address stands in for it. */
  readonly userPrincipalName: string;
  readonly root: MailFolder;
  private readonly folders = new Map<string, MailFolder>();
  private readonly wellKnown = new Map<string, MailFolder>();
  private readonly messagesByImmutableId = new Map<string, StoredMessage>();
  private readonly messagesByRestId = new Map<string, StoredMessage>();
  private sequence = 0;
  private changes = 0;
  private readonly removed: RemovedMessage[] = [];
  /** Called with every message that arrives in a folder (delivery, copy), for change notifications. */
  onCreated: (message: StoredMessage) => void = () => undefined;

  constructor(
    readonly userId: string,
    readonly address: string,
    readonly displayName: string,
  ) {
    const byObjectId = OBJECT_ID.test(userId);
    this.id = byObjectId ? userId.toLowerCase() : randomUUID();
    this.userPrincipalName = byObjectId ? address : userId;
    this.root = this.addFolder(opaqueId('AAMkAGI'), 'Top of Information Store', 'msgfolderroot', false);
    for (const [wellKnownName, displayName] of ROOT_CHILDREN) {
      this.addFolder(this.root.id, displayName, wellKnownName, false);
    }
  }

  /** A folder by well-known name (any case) or id. */
  folder(reference: string): MailFolder | undefined {
    return this.wellKnown.get(reference.toLowerCase()) ?? this.folders.get(reference);
  }

  /** A folder by well-known name, id or display name: the emulator's own API is for people. */
  folderByAnyName(reference: string): MailFolder | undefined {
    return (
      this.folder(reference) ??
      [...this.folders.values()].find(
        (folder) => folder.displayName.toLowerCase() === reference.toLowerCase(),
      )
    );
  }

  childFolders(parent: MailFolder): MailFolder[] {
    return [...this.folders.values()].filter((folder) => folder.parentFolderId === parent.id);
  }

  /** Undefined when the parent already has a folder of that name (compared as Exchange does, ignoring case). */
  createFolder(parent: MailFolder, displayName: string, isHidden: boolean): MailFolder | undefined {
    const taken = this.childFolders(parent).some(
      (folder) => folder.displayName.toLowerCase() === displayName.toLowerCase(),
    );
    return taken ? undefined : this.addFolder(parent.id, displayName, undefined, isHidden);
  }

  /** The message's folder as the emulator's views name it: well-known name, else display name. */
  folderName(message: StoredMessage): string {
    const folder = this.folders.get(message.folderId);
    return folder?.wellKnownName ?? folder?.displayName ?? message.folderId;
  }

  message(id: string): StoredMessage | undefined {
    return this.messagesByImmutableId.get(id) ?? this.messagesByRestId.get(id);
  }

  messages(folder?: MailFolder): StoredMessage[] {
    const all = [...this.messagesByImmutableId.values()];
    return folder ? all.filter((message) => message.folderId === folder.id) : all;
  }

  deliver(raw: Buffer, options: DeliveryOptions): StoredMessage {
    const domain = this.address.split('@')[1] ?? 'emulator.invalid';
    const stored = withHeaderIfMissing(raw, 'Message-ID', newInternetMessageId(domain));
    const headers = parseMessageHeaders(stored);
    const now = graphDateTime(new Date());
    const received = options.receivedDateTime ? graphDateTime(new Date(options.receivedDateTime)) : now;
    const threadRoot =
      headers.references[0] ?? headers.inReplyTo ?? headers.internetMessageId ?? randomUUID();
    const message: StoredMessage = {
      immutableId: opaqueId('AAkALgAAAAAAHYQDEapmEc2byACqAC-EWg0A'),
      restId: opaqueId('AAMkAGUAAA'),
      folderId: options.folderId,
      raw: stored,
      headers,
      conversationId: `AAQkAG${Buffer.from(threadRoot).toString('base64url').slice(0, 40)}=`,
      sequence: this.sequence++,
      isRead: options.isRead ?? false,
      categories: [],
      flagStatus: 'notFlagged',
      importance: headers.importance,
      inferenceClassification: 'focused',
      changeKey: newChangeKey(),
      changeSequence: ++this.changes,
      createdDateTime: now,
      lastModifiedDateTime: now,
      receivedDateTime: received,
      sentDateTime: headers.date ? graphDateTime(headers.date) : received,
    };
    this.messagesByImmutableId.set(message.immutableId, message);
    this.messagesByRestId.set(message.restId, message);
    this.onCreated(message);
    return message;
  }

  /** The mark a delta round ends at: every change so far is at or below it. */
  changeMark(): number {
    return this.changes;
  }

  /** What changed in the folder after `mark`: messages now in it, and messages that left it. */
  changesSince(folder: MailFolder, mark: number): { changed: StoredMessage[]; removed: RemovedMessage[] } {
    const changed = this.messages(folder)
      .filter((message) => message.changeSequence > mark)
      .sort((a, b) => a.changeSequence - b.changeSequence);
    const present = new Set(changed.map((message) => message.immutableId));
    const removed = this.removed.filter(
      (entry) =>
        entry.folderId === folder.id && entry.changeSequence > mark && !present.has(entry.immutableId),
    );
    return { changed, removed };
  }

  /** Every change gets a new changeKey, so etags change as Graph's do. */
  touch(message: StoredMessage): void {
    message.changeKey = newChangeKey();
    message.changeSequence = ++this.changes;
    message.lastModifiedDateTime = graphDateTime(new Date());
  }

  /** Moving gives the message a new REST id; the immutable id stays. */
  move(message: StoredMessage, destination: MailFolder): void {
    this.messagesByRestId.delete(message.restId);
    this.recordRemoval(message);
    message.restId = opaqueId('AAMkAGUAAA');
    message.folderId = destination.id;
    this.messagesByRestId.set(message.restId, message);
    this.touch(message);
  }

  copy(message: StoredMessage, destination: MailFolder): StoredMessage {
    const copy = this.deliver(message.raw, {
      folderId: destination.id,
      receivedDateTime: message.receivedDateTime,
      isRead: message.isRead,
    });
    copy.categories = [...message.categories];
    copy.flagStatus = message.flagStatus;
    return copy;
  }

  purge(message: StoredMessage): void {
    this.recordRemoval(message);
    this.messagesByRestId.delete(message.restId);
    this.messagesByImmutableId.delete(message.immutableId);
  }

  private recordRemoval(message: StoredMessage): void {
    this.removed.push({
      immutableId: message.immutableId,
      restId: message.restId,
      folderId: message.folderId,
      changeSequence: ++this.changes,
    });
  }

  private addFolder(
    parentFolderId: string,
    displayName: string,
    wellKnownName: string | undefined,
    isHidden: boolean,
  ): MailFolder {
    const folder: MailFolder = {
      id: opaqueId('AAMkAGI'),
      displayName,
      parentFolderId,
      wellKnownName,
      isHidden,
    };
    this.folders.set(folder.id, folder);
    if (wellKnownName) this.wellKnown.set(wellKnownName, folder);
    return folder;
  }
}
