import type { Readable } from 'node:stream';

/** One message as listed in a mailbox folder. */
export interface MailSummary {
  /** Graph message id (immutable id). */
  id: string;
  /** Internet Message-ID with angle brackets, when Graph has one. */
  internetMessageId: string | null;
  receivedDateTime: string;
  isRead: boolean;
  categories: string[];
}

export interface MailboxLocation {
  /** Graph user id or UPN. */
  userId: string;
  /** Well-known folder name, folder id, or display name of a folder under the root (mailFolders.ts). */
  folder: string;
}

export interface ListOptions {
  /** unread: only unread mail; sinceLastScan: everything received at or after `since`. */
  scan: 'unread' | 'sinceLastScan';
  since?: string;
}

/** Where a delta round starts: the stored deltaLink of the last round, or a fresh round over mail received since. */
export type DeltaStart = { deltaLink: string } | { receivedSince: string };

/** One whole delta round of a folder: the mail that is new or changed (oldest first) and the link for the next round. */
export interface DeltaRound {
  messages: MailSummary[];
  deltaLink: string;
}

/** What to do with a source message once its ticket or supplement is stored, or when it is kept aside. */
export type SourceOperation =
  | (({ kind: 'markRead' } | { kind: 'move'; folderId: string } | { kind: 'delete' }) & {
      /** A category to take off as well: the keep-aside tag of a mail that is handled after all (R20). */
      untag?: string;
    })
  | { kind: 'keepAside'; category: string; folderId?: string };

export interface OperationResult {
  messageId: string;
  ok: boolean;
  /** Graph error code when not ok. */
  error?: string;
}

/** The mailbox side of the import, as the use cases need it. Implemented over Microsoft Graph. */
export interface MailSource {
  /**
   * Pages of messages, oldest first; paging stays inside. The listing is complete before the first
   * page is handed out, so marking or moving listed messages while iterating skips none.
   */
  listMessages(
    mailbox: MailboxLocation,
    options: ListOptions,
    signal?: AbortSignal,
  ): AsyncIterable<MailSummary[]>;
  /**
   * A delta round of the folder (R5 scan type delta), read to its end: new and changed messages, read
   * or not, without the ones that left the folder. Fails with a GraphRequestError that
   * `deltaTokenExpired` recognises when Graph no longer knows the round's token.
   */
  deltaMessages(mailbox: MailboxLocation, start: DeltaStart, signal?: AbortSignal): Promise<DeltaRound>;
  /** The raw RFC 822 message as a stream. */
  fetchMime(userId: string, messageId: string, signal?: AbortSignal): Promise<Readable>;
  /** Applies operations to many messages with as few HTTP calls as possible ($batch). */
  applyOperations(
    userId: string,
    operations: Array<{ messageId: string; operation: SourceOperation }>,
    signal?: AbortSignal,
  ): Promise<OperationResult[]>;
  /** A folder setting as Graph takes it in a URL or as a move destination: well-known name or id. */
  resolveFolder(userId: string, folder: string, signal?: AbortSignal): Promise<string>;
  /** Id of the folder with this display name under the mailbox root, created when missing. */
  ensureFolder(userId: string, displayName: string, signal?: AbortSignal): Promise<string>;
  /** Sends a complete RFC 822 message from the mailbox (MIME form of sendMail). */
  sendMime(userId: string, mime: Buffer, signal?: AbortSignal): Promise<void>;
  /**
   * The mailbox's primary SMTP address (Graph `mail`, else a UPN that is an address); null when Graph
   * knows none. For a mailbox configured by its Graph user id.
   */
  mailboxAddress(userId: string, signal?: AbortSignal): Promise<string | null>;
  /** Whether Sent Items holds a message with this Internet Message-ID (guards against sending twice). */
  sentMessageExists(userId: string, internetMessageId: string, signal?: AbortSignal): Promise<boolean>;
}
