import type { ListEntry, PersonReference } from '../helpdesk/settings.js';
import type { TicketLink } from '../rules/evaluateRules.js';

/** A contact person of a customer organisation, looked up by mail address. */
export interface Contact {
  id: string;
  helpdeskId: string;
  name: string;
  /** Lower-cased mail address; the lookup key. */
  emailLower: string;
  organisation: { id: string; name: string } | null;
}

/** An image stored in Blob storage and referenced from a ticket or supplement. */
export interface StoredImage {
  /** Blob name inside the images container. */
  blobName: string;
  contentType: string;
  size: number;
  sha256: string;
  filename: string | null;
  contentId: string | null;
}

/** A file other than an image stored with a ticket or supplement (attachments.keep "all"). */
export interface StoredFile {
  /** Blob name inside the images container, named by content hash like the images. */
  blobName: string;
  /** The type detected from the bytes; application/octet-stream when none was recognised. */
  detectedType: string;
  /** The type the mail declared. */
  contentType: string;
  size: number;
  sha256: string;
  filename: string | null;
}

/** An attachment that was not stored (not an image, or over a limit); listed in the history. */
export interface AttachmentNotStored {
  filename: string | null;
  contentType: string;
  size: number;
  reason: string;
}

/** Where a ticket or supplement came from. */
export interface MailOrigin {
  messageKey: string;
  mailboxId: string;
  internetMessageId: string | null;
  /** From of the mail as written, name too: with the default contact standing in it is stored nowhere else. */
  sender: { address: string; name: string | null } | null;
  /** Blob name of the raw .eml when archiving is on (R12). */
  rawMailBlob: string | null;
  /** Every attachment, archived as a blob, when attachment archiving is on (R12). */
  attachments: ArchivedAttachment[];
}

export interface ArchivedAttachment {
  filename: string | null;
  contentType: string;
  size: number;
  blobName: string;
}

export interface Ticket {
  id: 'ticket';
  docType: 'ticket';
  ticketKey: string;
  helpdeskId: string;
  number: number;
  organisation: { id: string; name: string } | null;
  contact: PersonReference & { email: string };
  createdBy: PersonReference;
  reportedAt: string;
  channel: 'mail';
  mailSubject: string;
  title: string;
  requestText: string;
  requestHtml: string;
  images: StoredImage[];
  /** Other files, when the helpdesk keeps all attachments; absent when there are none. */
  files?: StoredFile[];
  typeId: string | null;
  priorityId: string | null;
  environmentId: string | null;
  categoryId: string | null;
  subcategoryId: null;
  ticketManager: PersonReference | null;
  assignee: PersonReference | null;
  /** The department that handles it, from the helpdesk's list (set by a rule, R19); absent on older tickets. */
  department?: ListEntry | null;
  relatedTicketNumber: null;
  externalId: null;
  plannedDate: null;
  deadline: string | null;
  recalculateDeadline: boolean;
  inProgressDate: null;
  completedDate: null;
  projectId: null;
  evaluation: null;
  timeEstimateHours: null;
  statusId: string;
  /** Addresses of everyone who wrote mail on this ticket (R18). */
  participants: string[];
  /** Relations, projects, … named by the link criteria or a rule (R19); absent on older tickets. */
  links?: TicketLink[];
  lastModifiedAt: string;
  lastModifiedBy: PersonReference;
  source: MailOrigin;
}

export interface Supplement {
  id: string;
  docType: 'supplement';
  ticketKey: string;
  helpdeskId: string;
  ticketNumber: number;
  reportedAt: string;
  /** agentReply: an answer of the helpdesk, sent to the customer by mail (R21); it carries `delivery`. */
  supplementType: 'importedFromMail' | 'agentReply';
  informationProvider: PersonReference;
  createdBy: PersonReference;
  /** The new text of the mail (reply text). */
  description: string;
  descriptionHtml: string;
  /** The whole text of the mail, quoted history included. */
  fullText: string;
  images: StoredImage[];
  /** Other files, when the helpdesk keeps all attachments; absent when there are none. */
  files?: StoredFile[];
  visibleToCustomer: boolean;
  expanded: boolean;
  /** Set when the sender is unrelated to the ticket and the helpdesk flags such mail (R18). */
  flagged: string | null;
  /** Set when the mail is an automatic reply recorded as a supplement (R15). */
  automatic: string | null;
  lastModifiedAt: string;
  lastModifiedBy: PersonReference;
  source: MailOrigin;
  /** How the mail of an agent reply is getting on; only on supplements of type agentReply. */
  delivery?: ReplyDelivery;
}

export interface MailAddress {
  address: string;
  name: string;
}

/** The outgoing mail of an agent reply (R21), rendered when the reply was posted, and its sending. */
export interface ReplyDelivery {
  status: 'queued' | 'sent' | 'failed';
  /** The helpdesk mailbox it is sent from. */
  mailboxId: string;
  /** Our deterministic Message-ID; known to the thread index before the mail goes out (R17). */
  messageId: string;
  inReplyTo: string | null;
  references: string[];
  to: MailAddress[];
  cc: MailAddress[];
  subject: string;
  text: string;
  html: string;
  /** Names of the ticket's stored images, sent inline (cid:NAME). */
  images: string[];
  templateId: string;
  /** Times the reply was queued: 1 when posted, one more per retry. */
  round: number;
  /** Send attempts started; once one started, the next looks in Sent Items before sending again. */
  attempts: number;
  /** Attempts started in this round (a retry starts a new round); absent: none yet. */
  roundAttempts?: number;
  /**
   * When the last attempt started: the next one waits until Sent Items would show its mail. Absent on
   * replies stored before it was recorded.
   */
  lastAttemptAt?: string;
  sentAt: string | null;
  /** Why the last attempt failed (while queued) or why the reply failed. */
  error: string | null;
  /**
   * The send job sending it right now (its queue message id) and until when that claim holds; null when
   * no job is sending. Another job leaves a claimed reply alone, so two jobs never send one reply at once.
   */
  claim: { by: string; until: string } | null;
  /** Set when it was posted with an Idempotency-Key: a repeated post is compared with this request. */
  requestHash?: string;
}

export type HistoryEvent =
  | 'createdByMailImport'
  | 'supplementedByMailImport'
  | 'acknowledgementSent'
  | 'agentReplyQueued'
  | 'agentReplySent'
  | 'agentReplyFailed'
  /** A person decided on flagged mail of this ticket (R18, R20): approved it, or took it out. */
  | 'mailResolvedByPerson';

export interface HistoryEntry {
  id: string;
  docType: 'history';
  ticketKey: string;
  helpdeskId: string;
  ticketNumber: number;
  at: string;
  by: PersonReference;
  event: HistoryEvent;
  text: string;
  attachmentsNotStored: AttachmentNotStored[];
  messageKey: string;
}

/** A supplement's id derives from its mail's key: written twice, it is one supplement. */
export function supplementId(messageKey: string): string {
  return `supplement-${messageKey}`;
}

export function ticketKey(helpdeskId: string, ticketNumber: number): string {
  return `${helpdeskId}/${ticketNumber}`;
}
