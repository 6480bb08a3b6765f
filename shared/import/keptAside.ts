import { ApiError } from '../http/errors.js';
import type { ImportDependencies } from './dependencies.js';
import { type MailRecord, mailboxKey } from './mailRecord.js';

export interface KeptAsideMessage {
  key: string;
  mailboxId: string;
  receivedDateTime: string;
  subject: string | null;
  senderDomain: string | null;
  reason: string;
  attempts: number;
  keptAsideAt: string;
  rawMailBlob: string | null;
}

/** The records of every mailbox of the helpdesk in one state; 404 for an unknown helpdesk. */
async function recordsInState(
  deps: ImportDependencies,
  helpdeskId: string,
  state: 'keptAside' | 'flagged',
): Promise<MailRecord[]> {
  const helpdesk = await deps.helpdesks.get(helpdeskId);
  if (!helpdesk) throw new ApiError('notFound', `helpdesk ${helpdeskId} does not exist`);
  return deps.records.withState(
    helpdeskId,
    helpdesk.importer.mailboxes.map((m) => m.id),
    state,
  );
}

/** R14/R20: mail that could not be imported, with the reason and where its raw copy is. */
export async function listKeptAside(
  deps: ImportDependencies,
  helpdeskId: string,
): Promise<KeptAsideMessage[]> {
  const records = await recordsInState(deps, helpdeskId, 'keptAside');
  return records.map((record) => ({
    key: record.id,
    mailboxId: record.mailboxId,
    receivedDateTime: record.receivedDateTime,
    subject: record.subject,
    senderDomain: record.senderDomain,
    reason: record.keptAside?.reason ?? record.lastError ?? 'unknown',
    attempts: record.attempts,
    keptAsideAt: record.keptAside?.at ?? record.updatedAt,
    rawMailBlob: record.keptAside?.blobName ?? null,
  }));
}

export interface FlaggedMessage {
  key: string;
  mailboxId: string;
  receivedDateTime: string;
  subject: string | null;
  senderDomain: string | null;
  /** The ticket the mail was added to, as an internal or flagged supplement. */
  ticketNumber: number | null;
  reason: string;
  flaggedAt: string;
}

/** R18: mail imported as a flagged supplement (an unrelated sender), for a person to review. */
export async function listFlagged(deps: ImportDependencies, helpdeskId: string): Promise<FlaggedMessage[]> {
  const records = await recordsInState(deps, helpdeskId, 'flagged');
  return records.map((record) => ({
    key: record.id,
    mailboxId: record.mailboxId,
    receivedDateTime: record.receivedDateTime,
    subject: record.subject,
    senderDomain: record.senderDomain,
    ticketNumber: record.plan && record.plan.action !== 'skip' ? record.plan.ticketNumber : null,
    reason: (record.plan?.action === 'supplement' && record.plan.flagged) || 'flagged',
    flaggedAt: record.updatedAt,
  }));
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
  const helpdesk = await deps.helpdesks.get(input.helpdeskId);
  if (!helpdesk) throw new ApiError('notFound', `helpdesk ${input.helpdeskId} does not exist`);
  for (const mailbox of helpdesk.importer.mailboxes) {
    const found = await deps.records.get(mailboxKey(helpdesk.id, mailbox.id), input.key);
    if (!found) continue;
    if (found.record.state !== 'keptAside') {
      throw new ApiError('conflict', `message ${input.key} is not kept aside (it is ${found.record.state})`);
    }
    if (helpdesk.importer.keepAside.folder) {
      // First, so a failed move leaves the message kept aside rather than pending where no run finds it.
      const [moved] = await deps.mailSource.applyOperations(mailbox.userId, [
        {
          messageId: found.record.graphMessageId,
          operation: {
            kind: 'move',
            folderId: await deps.mailSource.resolveFolder(mailbox.userId, mailbox.folder),
          },
        },
      ]);
      if (!moved?.ok) {
        throw new Error(`message ${input.key} could not be moved back: ${moved?.error ?? 'unknown error'}`);
      }
    }
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
  throw new ApiError('notFound', `no message ${input.key} in helpdesk ${helpdesk.id}`);
}

/** A "since last scan" mailbox lists only recent mail: move its scan back so the next run sees this one. */
async function rescanFrom(
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
