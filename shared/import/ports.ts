import type { Readable } from 'node:stream';
import type { Helpdesk, ImporterSettings } from '../helpdesk/settings.js';
import type { Contact, HistoryEntry, StoredImage, Supplement, Ticket } from '../tickets/model.js';
import type { TicketChangeOnSupplement } from '../tickets/ticketFields.js';

/** The outcome of one mailbox run, as recorded on the mailbox's status (R4). */
export interface RunCounts {
  created: number;
  supplemented: number;
  skipped: number;
  keptAside: number;
  failed: number;
  alreadyImported: number;
}

export interface MailboxStatus {
  helpdeskId: string;
  mailboxId: string;
  lastSuccessfulCheckAt: string | null;
  /** When the last complete scan started; the next "since last scan" listing starts here (R5). */
  lastScanStartedAt: string | null;
  lastRunAt: string | null;
  lastRunComplete: boolean | null;
  lastCounts: RunCounts | null;
  lastError: { at: string; message: string } | null;
  /** The primary SMTP address of a mailbox configured by Graph user id, resolved once for that id. */
  resolvedAddress: { userId: string; address: string } | null;
  /** Scan type delta: the deltaLink of the last complete round, for the folder it was read from. */
  delta: { folder: string; link: string; at: string } | null;
}

export interface MailboxRef {
  helpdeskId: string;
  mailboxId: string;
}

export interface HelpdeskStore {
  get(helpdeskId: string): Promise<Helpdesk | null>;
  /** Creates or replaces a whole helpdesk (seeding, administration). */
  put(helpdesk: Helpdesk): Promise<void>;
  /** The importer settings with the version of the helpdesk they were read from; null when it does not exist. */
  importerSettings(helpdeskId: string): Promise<{ importer: ImporterSettings; version: string } | null>;
  /**
   * Replaces the importer settings, if the helpdesk is still at `version` when one is given; 'conflict'
   * when it changed meanwhile (another request saved first), `null` when the helpdesk does not exist.
   */
  saveImporterSettings(
    helpdeskId: string,
    importer: ImporterSettings,
    version?: string,
  ): Promise<{ helpdesk: Helpdesk; version: string } | 'conflict' | null>;
  /** Pages of mailboxes of helpdesks with an enabled importer (R2). */
  enabledMailboxes(pageSize?: number): AsyncIterable<MailboxRef[]>;
  mailboxStatuses(helpdeskId: string): Promise<MailboxStatus[]>;
  mailboxStatus(helpdeskId: string, mailboxId: string): Promise<MailboxStatus>;
  saveMailboxStatus(status: MailboxStatus): Promise<void>;
  /** A lease on one mailbox so that two runs never import it at once; null when someone else holds it. */
  acquireLease(mailbox: MailboxRef, owner: string, ttlMs: number): Promise<Lease | null>;
  /** Allocates the next ticket number of a helpdesk; safe under concurrent creators. */
  allocateTicketNumber(helpdeskId: string): Promise<number>;
  /**
   * Acknowledgements sent to one sender (a normalised address) in the last hour and day, and by the
   * helpdesk to anyone in the last hour; recordAcknowledgement counts one more in both.
   */
  acknowledgementCounts(
    helpdeskId: string,
    sender: string,
    now: Date,
  ): Promise<{ lastHour: number; lastDay: number; helpdeskLastHour: number }>;
  recordAcknowledgement(helpdeskId: string, sender: string, now: Date): Promise<void>;
}

export interface Lease {
  /**
   * Taken over from a run that never released it (it died, or stalled until the lease lapsed): that run
   * may have left mail half-imported.
   */
  readonly tookOver: boolean;
  /** Extends the lease; false when it was lost (expired and taken over). */
  renew(ttlMs: number): Promise<boolean>;
  release(): Promise<void>;
}

export interface ContactDirectory {
  findByAddress(helpdeskId: string, address: string): Promise<Contact | null>;
  get(helpdeskId: string, contactId: string): Promise<Contact | null>;
  put(contact: Contact): Promise<void>;
}

/** How often a change is read again and retried because someone else changed the ticket meanwhile. */
export const MAX_CONCURRENT_CHANGE_ATTEMPTS = 5;

/** The ticket kept changing under a read-modify-write: given up after this many attempts (then retried). */
export class TicketChangedMeanwhile extends Error {
  override readonly name = 'TicketChangedMeanwhile';

  constructor(ticketNumber: number, attempts: number) {
    super(`ticket ${ticketNumber} was changed by someone else during each of ${attempts} attempts`);
  }
}

export interface TicketStore {
  getTicket(helpdeskId: string, ticketNumber: number): Promise<Ticket | null>;
  /** Creates the ticket; 'exists' when a ticket with this number is already stored. */
  createTicket(ticket: Ticket): Promise<'created' | 'exists'>;
  /** Creates the supplement when missing (idempotent). */
  createSupplement(supplement: Supplement): Promise<void>;
  /**
   * A person's review of a flagged supplement (R18, R20): changes it in place; false when it does not exist.
   */
  reviseSupplement(
    helpdeskId: string,
    ticketNumber: number,
    supplementId: string,
    change: Pick<Supplement, 'flagged' | 'visibleToCustomer' | 'lastModifiedAt' | 'lastModifiedBy'>,
  ): Promise<boolean>;
  /** Removes a supplement a person took out of its ticket; removing one that is gone is harmless. */
  removeSupplement(helpdeskId: string, ticketNumber: number, supplementId: string): Promise<void>;
  /** Adds an address to the ticket's participants once (R18: a person approved the sender). */
  addParticipant(helpdeskId: string, ticketNumber: number, address: string): Promise<void>;
  /**
   * Creates a new ticket or supplement together with its history entry in one round trip; false unless
   * both were written that way (the document existed already, say), and the caller writes them one by one.
   */
  createWithHistory(document: Ticket | Supplement, history: HistoryEntry): Promise<boolean>;
  /**
   * Applies a supplement's change, worked out from `ticket` as read, to the ticket (idempotent: values are
   * set, not added to); false when the ticket changed since it was read, and the change must be worked out
   * again from the ticket as it is now.
   */
  changeOnSupplement(ticket: Ticket, change: TicketChangeOnSupplement): Promise<boolean>;
  /** Writes a history entry; writing the same entry twice leaves one. */
  putHistory(entry: HistoryEntry): Promise<void>;
  /** Everything stored for a ticket: the ticket, its supplements and history. */
  ticketWithEverything(
    helpdeskId: string,
    ticketNumber: number,
  ): Promise<{ ticket: Ticket; supplements: Supplement[]; history: HistoryEntry[] } | null>;
  listTickets(helpdeskId: string): Promise<Ticket[]>;
  /** Remembers Message-IDs that belong to a ticket (incoming mail and acknowledgements; R17). */
  rememberMessageIds(helpdeskId: string, ticketNumber: number, messageIds: string[]): Promise<void>;
  /** `rememberMessageIds` for several tickets of one helpdesk at once (one request where the store can). */
  rememberMessageIdsOfGroup(
    helpdeskId: string,
    entries: Array<{ ticketNumber: number; messageIds: string[] }>,
  ): Promise<void>;
  /** The ticket that one of these Message-IDs belongs to, trying them in order. */
  ticketForMessageIds(helpdeskId: string, messageIds: string[]): Promise<number | null>;
}

export interface ImageStore {
  /** Stores an image under a content-addressed name for the ticket; storing it twice is harmless. */
  putImage(input: {
    helpdeskId: string;
    ticketNumber: number;
    content: Buffer;
    contentType: string;
    sha256: string;
    extension: string;
  }): Promise<string>;
  /** A stored image of the ticket, streamed with the type it was stored with; null when there is none. */
  openImage(
    helpdeskId: string,
    ticketNumber: number,
    name: string,
  ): Promise<{ content: Readable; size: number; contentType: string } | null>;
}

export interface RawMailStore {
  /** Archives the raw .eml of an imported mail (R12); returns the blob name. */
  archive(helpdeskId: string, mailboxId: string, messageKey: string, raw: Readable | Buffer): Promise<string>;
  /** Keeps the raw mail of a message that could not be imported (R14); returns the blob name. */
  keepAside(
    helpdeskId: string,
    mailboxId: string,
    messageKey: string,
    raw: Readable | Buffer,
  ): Promise<string>;
  readKeptAside(blobName: string): Promise<Buffer>;
  /**
   * The raw .eml of a message as the mailbox delivered it, streamed: the kept-aside copy, else the
   * archived one; null when neither was stored.
   */
  openRaw(
    helpdeskId: string,
    mailboxId: string,
    messageKey: string,
  ): Promise<{ content: Readable; size: number } | null>;
  /** Archives one attachment of an imported mail, streamed (R12); returns the blob name. */
  archiveAttachment(
    helpdeskId: string,
    mailboxId: string,
    messageKey: string,
    attachment: { index: number; filename: string | null; contentType: string },
    content: Readable,
  ): Promise<string>;
}

export type { StoredImage };
