import type { MailSource } from '../graph/mailSource.js';
import type { ImportStep } from './importMessage.js';
import type { MailRecordStore } from './mailRecord.js';
import type { ContactDirectory, HelpdeskStore, ImageStore, RawMailStore, TicketStore } from './ports.js';

export interface ImportLog {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** Everything the import use cases need, passed in: adapters in production, the same adapters or fakes in tests. */
export interface ImportDependencies {
  helpdesks: HelpdeskStore;
  contacts: ContactDirectory;
  tickets: TicketStore;
  records: MailRecordStore;
  images: ImageStore;
  rawMail: RawMailStore;
  mailSource: MailSource;
  clock: () => Date;
  log: ImportLog;
  /** Whether this deployment may read the mailbox (ALLOWED_MAILBOXES, set at deploy time). */
  mailboxAllowed: (userId: string) => boolean;
  /** How a stored image is referenced from ticket HTML. */
  imageUrl: (blobName: string) => string;
  /** Called after each step of a message's import; tests inject crashes here, the benchmark times stages. */
  checkpoint: (step: ImportStep) => Promise<void> | void;
  /** SENT_ITEMS_DELAY_SECONDS in milliseconds: how long a sent mail may be missing from Sent Items. */
  sentItemsDelayMs: number;
}
