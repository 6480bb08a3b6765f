import { createHash } from 'node:crypto';
import type { Classification } from '../mail/classify.js';
import type { ParsedMail } from '../mail/parsedMail.js';
import type { RuleOutcome } from '../rules/evaluateRules.js';

/** What the import decided for one message; stored before anything is written so a retry follows it. */
export type MailPlan =
  | { action: 'createTicket'; ticketNumber: number }
  | {
      action: 'supplement';
      ticketNumber: number;
      /** person: a person linked the mail to the ticket by hand (R20). */
      via: 'subject' | 'references' | 'person';
      flagged: string | null;
      automatic: string | null;
      /** An internal supplement: hidden from the customer, status unchanged (absent on older records). */
      internal?: boolean;
    }
  | { action: 'skip'; reason: string };

/**
 * The rules' outcome for one mail (R19), stored in the same write as its plan (or as keeping it aside):
 * a retry applies these actions even when the rules changed meanwhile. Links hold those from the subject
 * too; a moveTo folder is resolved to its id before it is stored.
 */
export type RuleDecision = RuleOutcome & {
  operation: { kind: 'move'; folderId: string } | { kind: 'delete' } | null;
};

/**
 * The per-message record: the final guard of exactly-once. Its id is the message key; it is created
 * planned (pending when an attempt failed before its plan), moves on to stored (or flagged / keptAside /
 * skipped) and is never deleted by the import. flagged is stored, with a supplement a person should
 * review (an unrelated sender, R18).
 */
export interface MailRecord {
  id: string;
  docType: 'mail';
  mailboxKey: string;
  helpdeskId: string;
  mailboxId: string;
  graphMessageId: string;
  internetMessageId: string | null;
  /**
   * contentFingerprint of the mail, once parsed (absent on records from before it was kept). Tells a
   * second delivery of this mail from a different mail that reuses its Message-ID.
   */
  fingerprint?: string;
  receivedDateTime: string;
  state: 'pending' | 'planned' | 'stored' | 'flagged' | 'skipped' | 'keptAside';
  attempts: number;
  lastError: string | null;
  plan: MailPlan | null;
  /** The rules' outcome, with the plan (absent on records from before rules). */
  rules?: RuleDecision | null;
  classification: Classification | null;
  subject: string | null;
  senderDomain: string | null;
  /** The sender's address, lower-cased, once parsed (absent on older records); for finding mail by sender. */
  from?: string | null;
  keptAside: { blobName: string | null; reason: string; at: string } | null;
  /**
   * A person's decision on a mail that needed one (R20), stored with its plan before anything else is
   * done: a resolve cut short finishes this decision (absent on records no one resolved).
   */
  resolution?: Resolution | null;
  /** 'sending' from the write that makes the record stored: due, and perhaps sent before a crash. */
  acknowledgement: {
    messageId: string;
    state: 'sending' | 'sent' | 'failed';
    /** When it was decided, just before it is sent; absent on records stored before this was kept. */
    sendingSince?: string;
  } | null;
  createdAt: string;
  updatedAt: string;
}

export interface Resolution {
  /** approve: flagged mail only (R18), its supplement kept, made visible and its sender a participant. */
  action: 'discard' | 'linkToTicket' | 'createTicket' | 'approve';
  note: string | null;
  /** Who decided, as they named themselves. */
  by: string;
  at: string;
  /**
   * Flagged mail linked elsewhere, made a ticket of its own or discarded: the ticket its supplement is taken
   * out of, before the new plan is carried out (absent for kept-aside mail and for approve).
   */
  takenOutOf?: number;
}

export interface MailRecordStore {
  get(mailboxKey: string, messageKey: string): Promise<{ record: MailRecord; etag: string } | null>;
  /** Creates the record; null when one with this key exists already. */
  create(record: MailRecord): Promise<{ etag: string } | null>;
  /** Replaces the record if it is unchanged since `etag`; null when someone else changed it. */
  replace(record: MailRecord, etag: string): Promise<{ etag: string } | null>;
  /**
   * `replace` for records of one mailbox at once (one request where the store can): each result as
   * `replace` gives it, in order, or the error that kept that record from being written.
   */
  replaceGroup(
    entries: Array<{ record: MailRecord; etag: string }>,
  ): Promise<Array<{ etag: string } | null | Error>>;
  /** Records in one state in these mailboxes, oldest first: kept aside (R14, R20) or flagged (R18). */
  withState(helpdeskId: string, mailboxIds: string[], state: 'keptAside' | 'flagged'): Promise<MailRecord[]>;
  /**
   * One page of records in these mailboxes, newest first; `continuationToken` (opaque) fetches the next,
   * null on the last page. Throws InvalidContinuationToken for a token this store did not hand out.
   */
  /** How many mails of one mailbox wait for a person: kept aside or flagged (R20's alert). */
  countNeedingAttention(helpdeskId: string, mailboxId: string): Promise<number>;
  page(query: MailRecordQuery): Promise<{ records: MailRecord[]; continuationToken: string | null }>;
}

export interface MailRecordQuery {
  helpdeskId: string;
  mailboxIds: string[];
  states: MailRecord['state'][];
  /** Part of the sender's address, any case. */
  from?: string;
  /** Part of the subject, any case. */
  subject?: string;
  pageSize: number;
  continuationToken?: string;
}

export class InvalidContinuationToken extends Error {
  override readonly name = 'InvalidContinuationToken';
}

/** Whether the message is imported: its ticket or supplement written. */
export function isStored(record: MailRecord): boolean {
  return record.state === 'stored' || record.state === 'flagged';
}

export function mailboxKey(helpdeskId: string, mailboxId: string): string {
  return `${helpdeskId}/${mailboxId}`;
}

/**
 * Stable key of a message within a mailbox: its Internet Message-ID, or a hash of the raw MIME when it
 * has none. Per mailbox, because the same mail may legitimately arrive in two helpdesks' mailboxes.
 */
export function messageKey(internetMessageId: string | null, rawSha256?: string): string {
  const basis = internetMessageId?.trim() ? `mid:${internetMessageId.trim()}` : `raw:${rawSha256 ?? ''}`;
  if (basis === 'raw:') throw new Error('a message key needs a Message-ID or the hash of the raw message');
  return createHash('sha256').update(basis).digest('base64url').slice(0, 32);
}

/**
 * What makes a mail this mail, whichever way it was delivered: sender, date, subject, text and
 * attachments, not the transport headers (Received, the tenant's own) that differ between two deliveries.
 */
export function contentFingerprint(mail: ParsedMail): string {
  const parts = [
    mail.from?.address.toLowerCase() ?? '',
    mail.date ?? '',
    mail.subject,
    mail.text,
    ...mail.attachments.map((attachment) => attachment.sha256),
  ];
  return createHash('sha256').update(JSON.stringify(parts)).digest('base64url').slice(0, 32);
}

/**
 * The key of a different mail under a Message-ID another mail of this mailbox already has (some mailers
 * reuse one): derived from both, so each distinct mail gets its own record and a redelivery finds it.
 */
export function derivedMessageKey(key: string, fingerprint: string): string {
  return createHash('sha256').update(`reused:${key}:${fingerprint}`).digest('base64url').slice(0, 32);
}
