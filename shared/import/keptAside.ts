import type { MailboxSettings } from '../helpdesk/settings.js';
import { ApiError } from '../http/errors.js';
import type { ImportDependencies } from './dependencies.js';
import { InvalidContinuationToken, type MailRecord, mailboxKey } from './mailRecord.js';

/** Which mail a person looks at: `ignored` is mail a rule or the classification skipped. */
export type MessageListState = 'keptAside' | 'flagged' | 'ignored' | 'all';

const RECORD_STATES: Record<MessageListState, MailRecord['state'][]> = {
  keptAside: ['keptAside'],
  flagged: ['flagged'],
  ignored: ['skipped'],
  all: ['pending', 'planned', 'stored', 'flagged', 'skipped', 'keptAside'],
};

export const MAX_PAGE_SIZE = 100;

export interface ListedMessage {
  key: string;
  mailboxId: string;
  state: Exclude<MailRecord['state'], 'skipped'> | 'ignored';
  receivedDateTime: string;
  from: string | null;
  senderDomain: string | null;
  subject: string | null;
  classification: MailRecord['classification'];
  /** Why it needs a person: why it was kept aside, flagged or ignored; null for mail imported as usual. */
  reason: string | null;
  attempts: number;
  rulesMatched: string[];
  /** The ticket it went to (flagged supplement) or will go to (a plan); null when none. */
  ticketNumber: number | null;
  keptAsideAt: string | null;
  updatedAt: string;
}

/** Why the mail is where it is, in the words a person deciding on it needs. */
function reasonOf(record: MailRecord): string | null {
  switch (record.state) {
    case 'keptAside':
      return record.keptAside?.reason ?? record.lastError ?? 'unknown';
    case 'flagged':
      return (record.plan?.action === 'supplement' && record.plan.flagged) || 'flagged';
    case 'skipped':
      return record.plan?.action === 'skip' ? record.plan.reason : 'ignored';
    default:
      return record.lastError;
  }
}

export function listedMessage(record: MailRecord): ListedMessage {
  return {
    key: record.id,
    mailboxId: record.mailboxId,
    state: record.state === 'skipped' ? 'ignored' : record.state,
    receivedDateTime: record.receivedDateTime,
    from: record.from ?? null,
    senderDomain: record.senderDomain,
    subject: record.subject,
    classification: record.classification,
    reason: reasonOf(record),
    attempts: record.attempts,
    rulesMatched: record.rules?.matched ?? [],
    ticketNumber: record.plan && record.plan.action !== 'skip' ? record.plan.ticketNumber : null,
    keptAsideAt: record.keptAside?.at ?? null,
    updatedAt: record.updatedAt,
  };
}

/**
 * R14/R18/R20: one page of the helpdesk's mail in a state, newest first, found by part of the sender or
 * subject; 404 for an unknown helpdesk, 400 for a continuation token this listing did not hand out.
 */
export async function listMessages(
  deps: ImportDependencies,
  input: {
    helpdeskId: string;
    state: MessageListState;
    from?: string;
    subject?: string;
    pageSize?: number;
    continuationToken?: string;
  },
): Promise<{ messages: ListedMessage[]; continuationToken: string | null }> {
  const helpdesk = await deps.helpdesks.get(input.helpdeskId);
  if (!helpdesk) throw new ApiError('notFound', `helpdesk ${input.helpdeskId} does not exist`);
  try {
    const page = await deps.records.page({
      helpdeskId: helpdesk.id,
      mailboxIds: helpdesk.importer.mailboxes.map((mailbox) => mailbox.id),
      states: RECORD_STATES[input.state],
      ...(input.from ? { from: input.from } : {}),
      ...(input.subject ? { subject: input.subject } : {}),
      pageSize: Math.min(input.pageSize ?? MAX_PAGE_SIZE, MAX_PAGE_SIZE),
      ...(input.continuationToken === undefined ? {} : { continuationToken: input.continuationToken }),
    });
    return { messages: page.records.map(listedMessage), continuationToken: page.continuationToken };
  } catch (error) {
    if (error instanceof InvalidContinuationToken) {
      throw new ApiError('badRequest', `continuationToken: ${error.message}`, 'continuationToken');
    }
    throw error;
  }
}

/**
 * Puts a kept-aside message back in line: its record returns to pending (or to its plan, so a ticket it
 * had begun is completed rather than made twice) with its attempts reset, so the next run of its mailbox
 * imports it again. The source message is still in the mailbox, unread; moved back if it was moved away.
 */
export async function retryKeptAside(
  deps: ImportDependencies,
  input: { helpdeskId: string; key: string },
): Promise<{ mailboxId: string }> {
  const { helpdesk, mailbox, found } = await findMessage(deps, input.helpdeskId, input.key);
  if (found.record.state !== 'keptAside') {
    throw new ApiError('conflict', `message ${input.key} is not kept aside (it is ${found.record.state})`);
  }
  // First, so a failed move leaves the message kept aside rather than pending where no run finds it.
  if (helpdesk.importer.keepAside.folder) await moveBackToMailbox(deps, mailbox, found.record);
  const saved = await deps.records.replace(
    {
      ...found.record,
      state: found.record.plan ? 'planned' : 'pending',
      attempts: 0,
      keptAside: null,
      updatedAt: deps.clock().toISOString(),
    },
    found.etag,
  );
  if (!saved) throw new ApiError('conflict', `message ${input.key} changed meanwhile; try again`);
  if (mailbox.scan === 'sinceLastScan') await rescanFrom(deps, helpdesk.id, mailbox.id, found.record);
  return { mailboxId: mailbox.id };
}

/** Moves a kept-aside source message from the keep-aside folder back to its mailbox's folder. */
export async function moveBackToMailbox(
  deps: ImportDependencies,
  mailbox: MailboxSettings,
  record: MailRecord,
): Promise<void> {
  const [moved] = await deps.mailSource.applyOperations(mailbox.userId, [
    {
      messageId: record.graphMessageId,
      operation: {
        kind: 'move',
        folderId: await deps.mailSource.resolveFolder(mailbox.userId, mailbox.folder),
      },
    },
  ]);
  // Already back (an interrupted earlier attempt) is fine.
  if (!moved?.ok && moved?.error !== 'ErrorItemNotFound') {
    throw new Error(`message ${record.id} could not be moved back: ${moved?.error ?? 'unknown error'}`);
  }
}

/**
 * The record of a message of this helpdesk, in whichever of its mailboxes; 404 for an unknown helpdesk
 * and for a key that is not this helpdesk's (another helpdesk's key included).
 */
export async function findMessage(deps: ImportDependencies, helpdeskId: string, key: string) {
  const helpdesk = await deps.helpdesks.get(helpdeskId);
  if (!helpdesk) throw new ApiError('notFound', `helpdesk ${helpdeskId} does not exist`);
  for (const mailbox of helpdesk.importer.mailboxes) {
    const found = await deps.records.get(mailboxKey(helpdesk.id, mailbox.id), key);
    if (found) return { helpdesk, mailbox, found };
  }
  throw new ApiError('notFound', `no message ${key} in helpdesk ${helpdesk.id}`);
}

/** The original .eml of a message, streamed from its kept-aside or archived copy; 404 when neither exists. */
export async function rawMessage(deps: ImportDependencies, input: { helpdeskId: string; key: string }) {
  const { helpdesk, mailbox, found } = await findMessage(deps, input.helpdeskId, input.key);
  const raw = await deps.rawMail.openRaw(helpdesk.id, mailbox.id, found.record.id);
  if (!raw) {
    throw new ApiError(
      'notFound',
      `no raw copy of message ${input.key} is stored: it was neither kept aside nor archived (attachments.archiveRawMail is off)`,
    );
  }
  return { ...raw, record: found.record };
}

/** A "since last scan" mailbox lists only recent mail: move its scan back so the next run sees this one. */
export async function rescanFrom(
  deps: ImportDependencies,
  helpdeskId: string,
  mailboxId: string,
  record: MailRecord,
): Promise<void> {
  const status = await deps.helpdesks.mailboxStatus(helpdeskId, mailboxId);
  const received = Date.parse(record.receivedDateTime);
  if (status.lastScanStartedAt && Date.parse(status.lastScanStartedAt) <= received) return;
  await deps.helpdesks.saveMailboxStatus({ ...status, lastScanStartedAt: new Date(received).toISOString() });
}
