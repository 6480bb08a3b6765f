import { createHash } from 'node:crypto';
import { type Readable, Transform } from 'node:stream';
import {
  acknowledgementAllowed,
  composeAcknowledgementMime,
  echoedName,
  renderAcknowledgement,
} from '../acknowledgement/acknowledgement.js';
import { flattenHeaderText } from '../acknowledgement/headerSafety.js';
import { normalisedSenderAddress, senderAuthentication } from '../acknowledgement/senderAuthentication.js';
import type { MailSummary, SourceOperation } from '../graph/mailSource.js';
import { sentItemsWait } from '../graph/sentItems.js';
import type { Helpdesk, MailboxSettings } from '../helpdesk/settings.js';
import { classifyMail, createOwnMessageId } from '../mail/classify.js';
import { imageExtension } from '../mail/images.js';
import type { ParsedMail } from '../mail/parsedMail.js';
import { MailLimitError, parseMail } from '../mail/parseMail.js';
import { ProcessingBudget, ProcessingTimeExceeded } from '../mail/processingBudget.js';
import { extractReply, type ReplyResult } from '../mail/replyText.js';
import { toSafeHtml } from '../mail/safeHtml.js';
import type { MessageOutcome } from '../observability/telemetry.js';
import { evaluateRules } from '../rules/evaluateRules.js';
import { linksFromSubject } from '../rules/linkCriteria.js';
import { mailFacts } from '../rules/mailFacts.js';
import type {
  ArchivedAttachment,
  AttachmentNotStored,
  Contact,
  StoredFile,
  StoredImage,
  Ticket,
} from '../tickets/model.js';
import {
  decideTarget,
  needsThreadMatch,
  referencedMessageIds,
  type TicketFacts,
  threadKey,
} from '../tickets/threading.js';
import {
  describeAttachments,
  historyEntry,
  type ImportedContent,
  mergeLinks,
  newTicketFields,
  type ResolvedContact,
  supplementFields,
  type TicketChangeOnSupplement,
  ticketChangeOnSupplement,
  ticketFieldValues,
} from '../tickets/ticketFields.js';
import { findTicketNumbers, formatTicketReference } from '../tickets/ticketNumber.js';
import type { ImportDependencies } from './dependencies.js';
import {
  contentFingerprint,
  derivedMessageKey,
  isStored,
  type MailPlan,
  type MailRecord,
  mailboxKey,
  messageKey,
  type RuleDecision,
} from './mailRecord.js';
import { MAX_CONCURRENT_CHANGE_ATTEMPTS, TicketChangedMeanwhile } from './ports.js';
import type { RunContacts } from './runContacts.js';

/** Steps of one message's import, reported to `checkpoint` (crash tests, stage timing). */
export type ImportStep =
  /** The message's turn has come; nothing is done for it yet. */
  | 'started'
  | 'fetched'
  | 'parsed'
  | 'planned'
  | 'ticketNumberAllocated'
  | 'imagesStored'
  | 'ticketWritten'
  | 'supplementWritten'
  | 'historyWritten'
  | 'stored'
  | 'acknowledged';

export interface MessageResult {
  key: string | null;
  outcome: MessageOutcome;
  ticketNumber: number | null;
  /** What to do with the source message now; null to leave it as it is. */
  operation: SourceOperation | null;
  classification: string | null;
  senderDomain: string | null;
  reason: string | null;
  attempt: number;
  /** Ids of the rules that matched (R19); absent when none was evaluated. */
  rules?: string[];
  /** Ids of the rules left out because they could not be evaluated (R19). */
  rulesSkipped?: string[];
}

export interface MailboxContext {
  helpdesk: Helpdesk;
  mailbox: MailboxSettings;
  /** The mailbox's own address, resolved from Graph when it is given by user id; null when unknown. */
  mailboxAddress: string | null;
  /** The operation for imported mail (folder ids resolved). */
  doneOperation: SourceOperation;
  /** The operation for mail kept aside (folder id resolved). */
  keepAsideOperation: SourceOperation;
  ownAddresses: string[];
  ownMessageIdDomain: string;
  /** Aborts when the run must stop (time budget used up, lease lost): the message is left as it is. */
  signal?: AbortSignal;
  /**
   * Renews the mailbox lease; false when another run has taken the mailbox over. Called right before
   * mail is sent, the one effect that a second run could not recognise and undo.
   */
  confirmLease: () => Promise<boolean>;
  /** This message's processing budget; a fresh default one when absent. */
  budget?: ProcessingBudget;
  /** The run's contacts, each looked up once per run. */
  contacts: RunContacts;
  /**
   * Mail received before this may have been listed by an earlier run: when the mailbox's last recorded
   * run ended, or when this run began if it took the mailbox over from a run that died.
   */
  maybeSeenBefore: string | null;
  /** Called once this message is parsed: the run may start on the next one's MIME meanwhile. */
  onParsed?: () => void;
  /**
   * The run's mails whose thread entries and `stored` record wait for its next post-processing group;
   * without it (a single mail's import) each mail is completed at once.
   */
  completions?: PendingCompletions;
}

/** What a mail imported in a group still waits for: its thread entries, then its record saying stored. */
export interface Completion {
  key: string;
  /** The Graph id of the source message, whose post-processing waits for this. */
  sourceId: string;
  record: MailRecord;
  etag: string;
  ticketNumber: number;
  messageIds: string[];
}

/**
 * The mails of a run whose last two writes wait for its next post-processing group, so that a group of
 * up to 20 mails takes one request for its thread entries and one for its records instead of two per mail.
 * Their Message-IDs are known to the run at once: a reply right after its request finds the request's
 * ticket before the group is written.
 */
export class PendingCompletions {
  private waiting: Completion[] = [];
  private readonly threads = new Map<string, number>();

  add(completion: Completion): void {
    this.waiting.push(completion);
    for (const messageId of completion.messageIds)
      this.threads.set(threadKey(messageId), completion.ticketNumber);
  }

  get size(): number {
    return this.waiting.length;
  }

  /** Whether this source message's import waits for the group. */
  has(sourceId: string): boolean {
    return this.waiting.some((completion) => completion.sourceId === sourceId);
  }

  /** The ticket of a Message-ID this run imported, written or not yet. */
  ticketFor(messageId: string): number | undefined {
    return this.threads.get(threadKey(messageId));
  }

  take(): Completion[] {
    const taken = this.waiting;
    this.waiting = [];
    return taken;
  }
}

/** How a mail of a group came out once the group was written. */
export type GroupOutcome =
  | { stored: true }
  /** changedElsewhere: its record changed meanwhile (another run is in the mailbox after a lease lapsed). */
  | { stored: false; changedElsewhere: boolean; reason: string };

/**
 * Writes what a group of imported mails waited for: their thread entries, then their records as stored
 * (the record last, so a crash in between leaves them planned and the next run completes them, writing
 * nothing twice). By source id: which mails are stored now; the others are left for the next run.
 */
export async function completeGroup(
  deps: ImportDependencies,
  helpdeskId: string,
  completions: Completion[],
): Promise<Map<string, GroupOutcome>> {
  const outcomes = new Map<string, GroupOutcome>();
  if (completions.length === 0) return outcomes;
  let threadProblem: string | null = null;
  try {
    await deps.tickets.rememberMessageIdsOfGroup(
      helpdeskId,
      completions.map(({ ticketNumber, messageIds }) => ({ ticketNumber, messageIds })),
    );
  } catch (error) {
    if (error instanceof Interrupted) throw error;
    // As for a single mail: imported all the same, the record says what is missing.
    threadProblem = `its Message-ID is not remembered for threading: ${errorMessage(error)}`;
    deps.log.warn(`${completions.length} messages are imported, but ${threadProblem}`);
  }
  const entries = completions.map(({ record, etag }) => ({
    record: threadProblem
      ? { ...record, lastError: [record.lastError, threadProblem].filter(Boolean).join('; ') }
      : record,
    etag,
  }));
  let results: Array<{ etag: string } | Error | null>;
  try {
    results = await deps.records.replaceGroup(entries);
  } catch (error) {
    if (error instanceof Interrupted) throw error;
    // The store could not even try (it reports each record's own failure otherwise): one by one.
    results = [];
    for (const { record, etag } of entries) {
      results.push(
        await deps.records.replace(record, etag).catch((failure: unknown) => {
          if (failure instanceof Interrupted) throw failure;
          return failure instanceof Error ? failure : new Error(String(failure));
        }),
      );
    }
  }
  for (const [index, completion] of completions.entries()) {
    const result = results[index];
    if (result instanceof Error) {
      const reason = `written, but its record is not updated yet: ${result.message}`;
      outcomes.set(completion.sourceId, { stored: false, changedElsewhere: false, reason });
    } else if (result) {
      outcomes.set(completion.sourceId, { stored: true });
      await reached(deps, 'stored');
    } else {
      outcomes.set(completion.sourceId, {
        stored: false,
        changedElsewhere: true,
        reason: `message ${completion.key} has a record changed by another run`,
      });
    }
  }
  return outcomes;
}

/**
 * The record of a mail taken to be new existed already: it was seen before. Carries the ticket number the
 * attempt allocated, if any, so that deciding again from the record does not take a second one.
 */
class SeenBefore extends Error {
  override readonly name = 'SeenBefore';

  constructor(
    key: string,
    readonly allocated: number | null,
  ) {
    super(`message ${key} has a record already`);
  }
}

class RecordConflictError extends Error {
  override readonly name = 'RecordConflictError';

  constructor(readonly key: string) {
    super(`message ${key} was changed by another run`);
  }
}

/** A throw from `checkpoint` stands for the process dying at that step: it skips all failure bookkeeping. */
class Interrupted extends Error {
  override readonly name = 'Interrupted';
}

async function reached(deps: ImportDependencies, step: ImportStep): Promise<void> {
  try {
    await deps.checkpoint(step);
  } catch (error) {
    throw new Interrupted(`interrupted after ${step}`, { cause: error });
  }
}

/** Errors that are not this message's fault: they must not count as an attempt, nor keep the mail aside. */
function passesThrough(error: unknown, context: MailboxContext): boolean {
  // The mail used its whole budget: its own fault, even if the run happens to stop at the same time.
  if (error instanceof ProcessingTimeExceeded) return false;
  return error instanceof Interrupted || error instanceof RecordConflictError || !!context.signal?.aborted;
}

function senderDomain(address: string | null | undefined): string | null {
  if (!address) return null;
  const at = address.lastIndexOf('@');
  return at >= 0 ? address.slice(at + 1).toLowerCase() : null;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/**
 * Runs a step that comes after the ticket or supplement is written. Its failure is logged and collected
 * for the message's record but does not fail the message: a retry would count attempts against a mail
 * whose ticket exists, and finally keep it aside.
 */
async function afterWritten(
  deps: ImportDependencies,
  context: MailboxContext,
  key: string,
  problems: string[],
  what: string,
  step: () => Promise<void>,
): Promise<void> {
  try {
    await step();
  } catch (error) {
    if (passesThrough(error, context)) throw error;
    const problem = `${what}: ${errorMessage(error)}`;
    problems.push(problem);
    deps.log.warn(`message ${key} is imported, but ${problem}`);
  }
}

/**
 * Imports one source message exactly once. Every write is idempotent and the plan (new ticket with its
 * number, or supplement of which ticket) is stored on the message's record before anything is written,
 * so a crash at any point followed by a retry finishes the same plan instead of starting another.
 */
export async function importMessage(
  deps: ImportDependencies,
  context: MailboxContext,
  summary: MailSummary,
  /** This mail parsed ahead of its turn (see `readAhead`). */
  ahead?: ParsedAhead,
): Promise<MessageResult> {
  try {
    return await importOrFail(deps, context, summary, ahead);
  } catch (error) {
    if (!(error instanceof RecordConflictError)) throw error;
    return {
      key: error.key,
      outcome: 'inProgressElsewhere',
      ticketNumber: null,
      operation: null,
      classification: null,
      senderDomain: null,
      reason: error.message,
      attempt: 0,
    };
  }
}

/** A mail's MIME fetched and parsed before its turn; a parse that ran out of budget is not kept. */
export type ParsedAhead = { parsed: ParsedMail; parseMs: number } | { error: unknown; parseMs: number };

/**
 * Whether a mail may be parsed ahead of its turn, while the mail before it is written: only mail whose
 * import starts with its parse (no record read first), so the parse is never wasted and nothing that
 * decides anything runs out of order. Fetching and parsing change nothing stored.
 */
export function mayReadAhead(context: MailboxContext, summary: MailSummary): boolean {
  return !maybeSeen(context, summary);
}

/**
 * Fetches and parses a mail ahead of its turn under its own budget. Settles, never rejects: a failure is
 * the mail's, handled at its turn as if it had happened then.
 */
export async function readAhead(
  deps: ImportDependencies,
  context: MailboxContext,
  summary: MailSummary,
  budget: ProcessingBudget,
): Promise<ParsedAhead | undefined> {
  const started = Date.now();
  try {
    const parsed = await parseSource(deps, context, summary, budget, { maxBytes: READ_AHEAD_MAX_BYTES });
    return { parsed, parseMs: Date.now() - started };
  } catch (error) {
    // Out of time while the mail before it was being worked on too: parsed again at its turn, undisturbed.
    // Too large: read at its turn, so that a mailbox of large mails holds one at a time, as before.
    if (error instanceof ProcessingTimeExceeded || error instanceof TooLargeToReadAhead) return undefined;
    return { error, parseMs: Date.now() - started };
  }
}

/** Mail larger than this is not read ahead (Graph's listing has no size: it is found out while reading). */
export const READ_AHEAD_MAX_BYTES = 8 * 1024 * 1024;

class TooLargeToReadAhead extends Error {
  override readonly name = 'TooLargeToReadAhead';
}

/** The source as it is read, failing once more than `maxBytes` came through. */
function atMost(raw: Readable, maxBytes: number): Readable {
  let bytes = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      bytes += chunk.length;
      done(bytes > maxBytes ? new TooLargeToReadAhead(`more than ${maxBytes} bytes`) : null, chunk);
    },
  });
  // The download's own failure reaches the parser through the counter; the caller closes the download.
  // (Not stream.pipeline: it makes an AbortController and a DOMException per mail, for nothing here.)
  raw.once('error', (error) => counter.destroy(error));
  return raw.pipe(counter);
}

function parseSource(
  deps: ImportDependencies,
  context: MailboxContext,
  summary: MailSummary,
  budget: ProcessingBudget,
  options: { fetched?: () => Promise<void>; maxBytes?: number } = {},
): Promise<ParsedMail> {
  const { attachments } = context.helpdesk.importer;
  return withMime(deps, context, summary, async (raw) => {
    await options.fetched?.();
    return parseMail(options.maxBytes === undefined ? raw : atMost(raw, options.maxBytes), {
      maxMessageBytes: attachments.maxMessageBytes,
      ...imageLimits(context.helpdesk),
      budget,
    });
  });
}

/** A record as read: null when there is none. */
type Found = { record: MailRecord; etag: string } | null;

/**
 * Whether the listing hints that the mail was seen before: it is read (imported mail is marked read, and
 * a since-last-scan overlap lists it again), it carries the keep-aside category (a person put it back), or
 * an earlier run may have listed it (its import or its post-processing failed, or that run died). Only
 * then is its record read first. Any other mail is most likely new: its record is created with its plan,
 * and a conflict there is the sign that it was seen after all. The hint saves requests and keeps ticket
 * numbers from being allocated for mail that has one already; exactly-once never depends on it.
 */
function maybeSeen(context: MailboxContext, summary: MailSummary): boolean {
  if (summary.isRead) return true;
  const keepAside = context.keepAsideOperation;
  if (keepAside.kind === 'keepAside' && summary.categories.includes(keepAside.category)) return true;
  const before = context.maybeSeenBefore;
  return !!before && Date.parse(summary.receivedDateTime) < Date.parse(before);
}

/**
 * Another source message under a known Message-ID is the same mail delivered twice, or a different mail
 * reusing the id: only its content can tell, so it is parsed before anything is settled.
 */
function isOtherSource(existing: Found | undefined, summary: MailSummary): boolean {
  return !!existing?.record.fingerprint && existing.record.graphMessageId !== summary.id;
}

async function importOrFail(
  deps: ImportDependencies,
  context: MailboxContext,
  summary: MailSummary,
  ahead: ParsedAhead | undefined,
): Promise<MessageResult> {
  const { helpdesk, mailbox } = context;
  await reached(deps, 'started');
  const budget = context.budget ?? new ProcessingBudget();
  const partition = mailboxKey(helpdesk.id, mailbox.id);
  const readFirst = maybeSeen(context, summary);
  let key = summary.internetMessageId ? messageKey(summary.internetMessageId) : null;
  /** undefined: not read, the mail is taken to be new until its record's creation says otherwise. */
  let existing: Found | undefined = key && readFirst ? await deps.records.get(partition, key) : undefined;
  let otherSource = isOtherSource(existing, summary);
  const settled = existing && !otherSource ? settledResult(existing.record, context, summary) : null;
  if (settled) return settled;

  let parsed: ParsedMail;
  try {
    if (ahead && !readFirst) {
      await reached(deps, 'fetched');
      if ('error' in ahead) throw ahead.error;
      parsed = ahead.parsed;
    } else {
      parsed = await parseSource(deps, context, summary, budget, { fetched: () => reached(deps, 'fetched') });
    }
    await reached(deps, 'parsed');
    context.onParsed?.();
  } catch (error) {
    if (passesThrough(error, context)) throw error;
    if (key && existing === undefined) {
      // Not read before parsing: a mail kept aside earlier fails again here, and is left as it is.
      const found = await deps.records.get(partition, key);
      otherSource = isOtherSource(found, summary);
      const settledNow = found && !otherSource ? settledResult(found.record, context, summary) : null;
      if (settledNow) return settledNow;
      existing = found;
    }
    // existing is still unread only without a key.
    if (!key || otherSource || existing === undefined) {
      // Without a Message-ID and unparsed, only the Graph id names the message; its earlier failures count.
      // Another source message under a known id too: its failures are not the imported mail's.
      key = messageKey(null, `graph:${summary.id}`);
      existing = await deps.records.get(partition, key);
    }
    const keepAsideNow = error instanceof MailLimitError || error instanceof ProcessingTimeExceeded;
    return failed(deps, context, summary, key, existing, error, keepAsideNow);
  }

  const fingerprint = contentFingerprint(parsed);
  if (!key) {
    key = messageKey(parsed.messageId, parsed.rawSha256);
    existing = readFirst ? await deps.records.get(partition, key) : undefined;
  }
  const progress = { written: false };
  /** A ticket number allocated by a first attempt that found the record existing: the next attempt's. */
  let allocated: number | null = null;
  for (;;) {
    if (existing?.record.fingerprint && existing.record.fingerprint !== fingerprint) {
      key = derivedMessageKey(key, fingerprint);
      existing = await deps.records.get(partition, key);
    }
    const settledLate = existing ? settledResult(existing.record, context, summary) : null;
    if (settledLate) return settledLate;
    try {
      return await importParsed(
        deps,
        { ...context, budget },
        summary,
        key,
        parsed,
        fingerprint,
        existing,
        progress,
        allocated,
      );
    } catch (error) {
      if (error instanceof SeenBefore && existing === undefined) {
        // The mail has a record after all: decided again from what it says, with the number already taken.
        allocated = error.allocated;
        existing = await deps.records.get(partition, key);
        continue;
      }
      if (passesThrough(error, context)) throw error;
      const fresh = await deps.records.get(partition, key);
      if (fresh && isStored(fresh.record)) {
        // Imported by an earlier run; only resuming its acknowledgement failed, which the next run tries
        // again. Not the mail's fault: no attempt counted, never kept aside, never a failure.
        return resultFromRecord(key, fresh.record, 'alreadyImported', errorMessage(error));
      }
      if (progress.written && fresh) {
        // The ticket or supplement is written; only its record could not say so. No attempt counted, never
        // kept aside: the next run finds the plan on the record and completes it without writing twice.
        const reason = `written, but its record is not updated yet: ${errorMessage(error)}`;
        return resultFromRecord(key, fresh.record, 'failed', reason);
      }
      return failed(deps, context, summary, key, fresh, error, error instanceof ProcessingTimeExceeded);
    }
  }
}

/**
 * The source's raw MIME for `use`, closed afterwards whether read to the end or not: a download left
 * open holds a connection, and once the run stops it fails with nobody listening (an uncaught error).
 */
async function withMime<T>(
  deps: ImportDependencies,
  context: MailboxContext,
  summary: MailSummary,
  use: (raw: Readable) => Promise<T>,
): Promise<T> {
  const raw = await deps.mailSource.fetchMime(context.mailbox.userId, summary.id, context.signal);
  try {
    return await use(raw);
  } finally {
    raw.destroy();
  }
}

function imageLimits(helpdesk: Helpdesk) {
  return {
    maxImageBytes: helpdesk.importer.attachments.maxImageBytes,
    maxImagesBytesPerMessage: helpdesk.importer.attachments.maxImagesBytesPerMessage,
    keep: helpdesk.importer.attachments.keep,
  };
}

/**
 * What to do with the source mail once imported or skipped: a rule's moveTo or delete, else the mailbox's.
 * A mail that was kept aside (retried, or resolved by a person) loses its keep-aside tag as well.
 */
function doneOperation(record: MailRecord, context: MailboxContext, summary: MailSummary): SourceOperation {
  const operation = record.rules?.operation ?? context.doneOperation;
  const { category } = context.helpdesk.importer.keepAside;
  const tagged = !!record.resolution || summary.categories.includes(category);
  return tagged && operation.kind !== 'keepAside' ? { ...operation, untag: category } : operation;
}

/** A message whose record says it needs nothing more than post-processing (or nothing at all). */
function settledResult(
  record: MailRecord,
  context: MailboxContext,
  summary: MailSummary,
): MessageResult | null {
  const base = {
    key: record.id,
    ticketNumber: record.plan && record.plan.action !== 'skip' ? record.plan.ticketNumber : null,
    classification: record.classification?.kind ?? null,
    senderDomain: record.senderDomain,
    attempt: record.attempts,
    rules: record.rules?.matched,
    rulesSkipped: record.rules?.skipped?.map((rule) => rule.id),
  };
  if (isStored(record) || record.state === 'skipped') {
    if (record.acknowledgement?.state === 'sending') return null;
    return {
      ...base,
      outcome: 'alreadyImported',
      operation: doneOperation(record, context, summary),
      reason: null,
    };
  }
  if (record.state === 'keptAside') {
    // A run may have stopped between keeping it aside and tagging (or moving) the source: finish that.
    const operation = context.keepAsideOperation;
    const unfinished =
      operation.kind === 'keepAside' &&
      (operation.folderId !== undefined || !summary.categories.includes(operation.category));
    return {
      ...base,
      outcome: 'stillKeptAside',
      operation: unfinished ? operation : null,
      reason: record.keptAside?.reason ?? null,
    };
  }
  return null;
}

function newRecord(context: MailboxContext, summary: MailSummary, key: string, now: string): MailRecord {
  return {
    id: key,
    docType: 'mail',
    mailboxKey: mailboxKey(context.helpdesk.id, context.mailbox.id),
    helpdeskId: context.helpdesk.id,
    mailboxId: context.mailbox.id,
    graphMessageId: summary.id,
    internetMessageId: summary.internetMessageId,
    receivedDateTime: summary.receivedDateTime,
    state: 'pending',
    attempts: 0,
    lastError: null,
    plan: null,
    classification: null,
    subject: null,
    senderDomain: null,
    keptAside: null,
    acknowledgement: null,
    createdAt: now,
    updatedAt: now,
  };
}

/** Saves a changed record; a concurrent change by another run means this run must stop here. */
async function save(
  deps: ImportDependencies,
  record: MailRecord,
  etag: string | null,
): Promise<{ record: MailRecord; etag: string }> {
  const updated = { ...record, updatedAt: deps.clock().toISOString() };
  const saved =
    etag === null ? await deps.records.create(updated) : await deps.records.replace(updated, etag);
  if (!saved) throw new RecordConflictError(record.id);
  return { record: updated, etag: saved.etag };
}

async function failed(
  deps: ImportDependencies,
  context: MailboxContext,
  summary: MailSummary,
  key: string,
  existing: { record: MailRecord; etag: string } | null,
  error: unknown,
  keepAsideNow: boolean,
): Promise<MessageResult> {
  const now = deps.clock().toISOString();
  const record = existing?.record ?? newRecord(context, summary, key, now);
  const attempts = record.attempts + 1;
  const reason = errorMessage(error);
  const base = {
    key,
    ticketNumber: null,
    classification: record.classification?.kind ?? null,
    senderDomain: record.senderDomain,
    attempt: attempts,
  };
  if (!keepAsideNow && attempts < context.helpdesk.importer.keepAside.maxAttempts) {
    await save(deps, { ...record, attempts, lastError: reason }, existing?.etag ?? null);
    // Left unread and untouched: the next run tries again.
    return { ...base, outcome: 'failed', operation: null, reason };
  }
  let blobName: string | null = null;
  try {
    blobName = await withMime(deps, context, summary, (raw) =>
      deps.rawMail.keepAside(context.helpdesk.id, context.mailbox.id, key, raw),
    );
  } catch (storeError) {
    if (context.signal?.aborted) throw storeError;
    // Without a raw copy the mail stays in the mailbox untouched; record both reasons.
    const both = `${reason}; raw copy not stored: ${errorMessage(storeError)}`;
    await save(deps, { ...record, attempts, lastError: both }, existing?.etag ?? null);
    return { ...base, outcome: 'failed', operation: null, reason: both };
  }
  await save(
    deps,
    { ...record, attempts, lastError: reason, state: 'keptAside', keptAside: { blobName, reason, at: now } },
    existing?.etag ?? null,
  );
  return { ...base, outcome: 'keptAside', operation: context.keepAsideOperation, reason };
}

/** The result of a message whose record already says what happened to it, without a write of its own. */
function resultFromRecord(
  key: string,
  record: MailRecord,
  outcome: 'alreadyImported' | 'failed',
  reason: string,
): MessageResult {
  return {
    key,
    outcome,
    ticketNumber: record.plan?.action === 'skip' ? null : (record.plan?.ticketNumber ?? null),
    operation: null,
    classification: record.classification?.kind ?? null,
    senderDomain: record.senderDomain,
    reason,
    attempt: record.attempts,
  };
}

async function importParsed(
  deps: ImportDependencies,
  context: MailboxContext,
  summary: MailSummary,
  key: string,
  parsed: ParsedMail,
  fingerprint: string,
  /** The record as read; undefined when the mail is taken to be new and its record was not read. */
  existing: Found | undefined,
  /** Set once the ticket or supplement is written: from then on a failure is no fault of the mail. */
  progress: { written: boolean },
  /** A ticket number an earlier attempt at this message allocated, used before allocating another. */
  allocated: number | null,
): Promise<MessageResult> {
  const { helpdesk } = context;
  const now = deps.clock();
  let sender = await resolveSender(context, parsed);
  // A new mail's record is first written with its plan (or as kept aside): one write, not two.
  const start = existing ?? { record: newRecord(context, summary, key, now.toISOString()), etag: null };
  /** The first write of a record not read conflicted: the mail was seen before after all. */
  const seenBefore = (error: unknown, allocatedNumber: number | null) =>
    existing === undefined && error instanceof RecordConflictError
      ? new SeenBefore(key, allocatedNumber)
      : error;
  // The reply text is costly on a hostile mail: worked out at most once, and only when something needs it.
  let replyResult: ReplyResult | null = null;
  const reply = () => {
    replyResult ??= extractReply(
      { text: parsed.text, html: parsed.html, separator: helpdesk.importer.replySeparator },
      context.budget,
    );
    return replyResult;
  };

  /** Tickets read while planning, by number: a supplement's own ticket is not read a second time. */
  const ticketsRead = new Map<number, Ticket>();
  let current: { record: MailRecord; etag: string };
  if (start.record.plan && start.etag !== null) {
    current = { record: start.record, etag: start.etag };
  } else {
    const classification = classifyMail(parsed, {
      ownAddresses: context.ownAddresses,
      ownMessageIdDomain: context.ownMessageIdDomain,
    });
    const described = {
      ...start.record,
      fingerprint,
      classification,
      subject: parsed.subject.slice(0, 255),
      senderDomain: senderDomain(parsed.from?.address),
      from: parsed.from?.address.toLowerCase() ?? null,
    };
    // Rules stored without a plan were those of a mail a rule kept aside, now retried by a person: the
    // same actions again, but not keeping it aside a second time.
    const stored = start.record.rules;
    const rules = stored
      ? { ...stored, keepAside: null }
      : await decideRules(deps, context, parsed, reply, sender, classification.kind);
    if (rules.keepAside !== null) {
      const keep = { record: { ...described, rules }, etag: start.etag };
      return await keptAsideByRule(deps, context, summary, keep).catch((error: unknown) => {
        throw seenBefore(error, allocated);
      });
    }
    const plan: MailPlan =
      rules.ignore !== null
        ? { action: 'skip', reason: `ignored by rule ${rules.ignore}` }
        : await decidePlan(deps, context, parsed, sender, classification.kind, ticketsRead, allocated);
    const allocatedNow = plan.action === 'createTicket' ? plan.ticketNumber : allocated;
    current = await save(deps, { ...described, state: 'planned', plan, rules }, start.etag).catch(
      (error: unknown) => {
        throw seenBefore(error, allocatedNow);
      },
    );
    await reached(deps, 'planned');
  }
  const plan = current.record.plan as MailPlan;
  const rules = current.record.rules ?? null;
  const baseResult = {
    key,
    classification: current.record.classification?.kind ?? null,
    senderDomain: current.record.senderDomain,
    attempt: current.record.attempts + 1,
    rules: rules?.matched,
    rulesSkipped: rules?.skipped?.map((rule) => rule.id),
  };

  if (plan.action === 'skip') {
    current = await save(deps, { ...current.record, state: 'skipped' }, current.etag);
    return {
      ...baseResult,
      outcome: 'skipped',
      ticketNumber: null,
      operation: doneOperation(current.record, context, summary),
      reason: plan.reason,
    };
  }
  if (rules?.createContact && sender.isDefault && sender.senderAddress) {
    sender = await createContact(context, parsed, sender.senderAddress);
  }

  const event = plan.action === 'createTicket' ? 'newTicket' : 'supplement';
  // Stored before: only an acknowledgement left half-sent brings it here; the ticket is not written again.
  const wasStored = isStored(current.record);
  /** What failed after the ticket or supplement was written; recorded, never a failure of the mail. */
  const problems: string[] = [];
  let ticket: Ticket;
  if (wasStored) {
    const stored = await deps.tickets.getTicket(helpdesk.id, plan.ticketNumber);
    if (!stored) throw new Error(`ticket ${plan.ticketNumber} no longer exists`);
    ticket = stored;
  } else {
    ticket = await writeTicketOrSupplement(
      deps,
      context,
      summary,
      key,
      parsed,
      sender,
      plan,
      rules,
      reply,
      now,
      problems,
      current.record.resolution ?? null,
      ticketsRead.get(plan.ticketNumber) ?? null,
    );
    progress.written = true;
    // Decided in the same write that says stored: a crash right after must not skip it.
    let acknowledgement: MailRecord['acknowledgement'] = null;
    await afterWritten(deps, context, key, problems, 'no acknowledgement decided', async () => {
      acknowledgement = await acknowledgementDue(deps, context, current.record, parsed, plan, event);
    });
    // A flagged supplement waits for a person: listed by GET …/messages?state=flagged.
    const state = plan.action === 'supplement' && plan.flagged ? 'flagged' : 'stored';
    const messageIds = parsed.messageId ? [parsed.messageId] : [];
    const lastError = () => (problems.length > 0 ? problems.join('; ') : current.record.lastError);
    if (acknowledgement === null && context.completions) {
      // Nothing is sent for it: its thread entries and record go out with the run's next group.
      const record: MailRecord = { ...current.record, state, acknowledgement, lastError: lastError() };
      context.completions.add({
        key,
        sourceId: summary.id,
        record,
        etag: current.etag,
        ticketNumber: ticket.number,
        messageIds,
      });
      current = { record, etag: current.etag };
    } else {
      await afterWritten(deps, context, key, problems, 'its Message-ID is not remembered for threading', () =>
        deps.tickets.rememberMessageIds(helpdesk.id, ticket.number, messageIds),
      );
      current = await save(
        deps,
        { ...current.record, state, acknowledgement, lastError: lastError() },
        current.etag,
      );
      await reached(deps, 'stored');
    }
  }

  let acknowledgementPending = false;
  if (current.record.acknowledgement?.state === 'sending') {
    const stored = current;
    await afterWritten(deps, context, key, problems, 'the acknowledgement is not sent yet', async () => {
      try {
        await acknowledge(
          deps,
          context,
          stored,
          parsed,
          ticket,
          sender,
          event,
          formatTicketReference(ticket.number, helpdesk.ticketPrefix),
          wasStored,
        );
      } catch (error) {
        // Left 'sending' for the next run, which finds the source mail only if it is left as it is.
        acknowledgementPending = true;
        throw error;
      }
    });
  }
  const outcome = plan.action === 'createTicket' ? 'created' : 'supplemented';
  const reasons = [
    plan.action === 'supplement' ? (plan.flagged ?? `matched by ${plan.via}`) : null,
    ...problems,
  ];
  return {
    ...baseResult,
    outcome: wasStored ? 'alreadyImported' : outcome,
    ticketNumber: ticket.number,
    operation: acknowledgementPending ? null : doneOperation(current.record, context, summary),
    reason: reasons.filter((reason) => reason !== null).join('; ') || null,
  };
}

/** Carries out a plan: images, then the ticket or supplement, then its history. Every write is idempotent. */
async function writeTicketOrSupplement(
  deps: ImportDependencies,
  context: MailboxContext,
  summary: MailSummary,
  key: string,
  parsed: ParsedMail,
  sender: ResolvedContact,
  plan: Exclude<MailPlan, { action: 'skip' }>,
  rules: RuleDecision | null,
  reply: () => ReplyResult,
  now: Date,
  problems: string[],
  /** A person's decision on this mail (R20: link it to a ticket, or make a new one), named in its history. */
  resolution: MailRecord['resolution'] | null,
  /** The ticket to supplement, when planning read it already. */
  readWhilePlanning: Ticket | null,
): Promise<Ticket> {
  const { helpdesk } = context;
  const ruleChanges = rules ? { setFields: rules.setFields, links: rules.links } : undefined;
  const notSet = rules ? ticketFieldValues(helpdesk, rules.setFields).notSet : [];
  const ruleNote = [
    rules && rules.matched.length > 0 ? ` Rules applied: ${rules.matched.join(', ')}.` : '',
    notSet.length > 0 ? ` Not set, no longer in the helpdesk's lists: ${notSet.join(', ')}.` : '',
  ].join('');
  const receivedAt = summary.receivedDateTime;
  const importedAt = now.toISOString();
  const origin = {
    messageKey: key,
    mailboxId: context.mailbox.id,
    internetMessageId: parsed.messageId ?? summary.internetMessageId,
    sender: parsed.from?.address
      ? { address: parsed.from.address, name: parsed.from.name.trim() || null }
      : null,
    rawMailBlob: null as string | null,
    attachments: [] as ArchivedAttachment[],
  };
  if (helpdesk.importer.attachments.archiveRawMail) {
    origin.rawMailBlob = await withMime(deps, context, summary, (raw) =>
      deps.rawMail.archive(helpdesk.id, context.mailbox.id, key, raw),
    );
  }
  if (helpdesk.importer.attachments.archiveAttachments && parsed.attachments.length > 0) {
    origin.attachments = await archiveAttachments(deps, context, summary, key);
  }
  // The reply part is a supplement's; a new ticket keeps the whole mail (no extraction, no second sanitising).
  const replyPart = plan.action === 'supplement' ? reply() : null;
  const content = await storeContent(deps, context, parsed, replyPart, plan.ticketNumber, receivedAt, origin);
  await reached(deps, 'imagesStored');

  let ticket: Ticket;
  if (plan.action === 'createTicket') {
    ticket = newTicketFields({
      helpdesk,
      ticketNumber: plan.ticketNumber,
      sender,
      content,
      importedAt,
      rules: ruleChanges,
    });
    const entry = historyEntry({
      ticket,
      event: 'createdByMailImport',
      at: importedAt,
      by: helpdesk.importer.defaultEmployee,
      text: `Ticket created by mail import from ${sender.senderAddress ?? 'an unknown sender'}.${resolution ? ` Created from this mail by ${resolution.by}.` : ''}${ruleNote}${describeAttachments(content.attachmentsNotStored)}`,
      messageKey: key,
      attachmentsNotStored: content.attachmentsNotStored,
    });
    // One round trip for a new ticket; a retry (the ticket exists) or a failed batch writes one by one.
    const together = await deps.tickets.createWithHistory(ticket, entry);
    if (!together && (await deps.tickets.createTicket(ticket)) === 'exists') {
      const stored = await deps.tickets.getTicket(helpdesk.id, plan.ticketNumber);
      if (stored?.source.messageKey !== key) {
        throw new Error(`ticket ${plan.ticketNumber} already belongs to another mail`);
      }
      ticket = stored;
    }
    await reached(deps, 'ticketWritten');
    if (!together) {
      await afterWritten(deps, context, key, problems, 'no history entry written', () =>
        deps.tickets.putHistory(entry),
      );
    }
  } else {
    const stored = readWhilePlanning ?? (await deps.tickets.getTicket(helpdesk.id, plan.ticketNumber));
    if (!stored) throw new Error(`ticket ${plan.ticketNumber} no longer exists`);
    ticket = stored;
    const supplement = supplementFields({
      helpdesk,
      ticket,
      sender,
      content,
      importedAt,
      flagged: plan.flagged,
      automatic: plan.automatic,
      internal: plan.internal === true,
    });
    const changeFor = (current: Ticket) =>
      ticketChangeOnSupplement({
        helpdesk,
        ticket: current,
        sender,
        receivedAt,
        importedAt,
        // An unrelated or automatic sender does not become related by writing once.
        addSender: !plan.flagged && !plan.automatic,
        internal: plan.internal === true,
        rules: ruleChanges,
      });
    const byPerson = resolution ? `Linked to this ticket by ${resolution.by}.` : null;
    const notes = [plan.flagged, plan.automatic, byPerson].filter((note): note is string => !!note);
    const entry = historyEntry({
      ticket,
      event: 'supplementedByMailImport',
      at: importedAt,
      by: helpdesk.importer.defaultEmployee,
      text: `Ticket supplemented by mail import from ${sender.senderAddress ?? 'an unknown sender'}.${notes.map((n) => ` ${n}`).join('')}${ruleNote}${describeAttachments(content.attachmentsNotStored)}`,
      messageKey: key,
      attachmentsNotStored: content.attachmentsNotStored,
    });
    // The ticket's change is a patch, which a batch on the local emulator cannot hold: its own request.
    const together = await deps.tickets.createWithHistory(supplement, entry);
    if (!together) await deps.tickets.createSupplement(supplement);
    ticket = await changeTicket(deps, ticket, changeFor);
    await reached(deps, 'supplementWritten');
    if (!together) {
      await afterWritten(deps, context, key, problems, 'no history entry written', () =>
        deps.tickets.putHistory(entry),
      );
    }
  }
  await reached(deps, 'historyWritten');
  return ticket;
}

/** The most Message-IDs of a mail's references looked up in the thread index (as the store does). */
const MAX_THREAD_LOOKUPS = 20;

/**
 * The ticket the first of these Message-IDs belongs to, the run's own mail not written yet included:
 * in the references' order, as the thread index alone would answer.
 */
async function threadTicket(
  deps: ImportDependencies,
  context: MailboxContext,
  references: string[],
): Promise<number | null> {
  const pending = context.completions;
  const helpdeskId = context.helpdesk.id;
  if (!pending || !references.some((messageId) => pending.ticketFor(messageId) !== undefined)) {
    return deps.tickets.ticketForMessageIds(helpdeskId, references);
  }
  for (const messageId of references.slice(0, MAX_THREAD_LOOKUPS)) {
    const ticketNumber =
      pending.ticketFor(messageId) ?? (await deps.tickets.ticketForMessageIds(helpdeskId, [messageId]));
    if (ticketNumber !== null) return ticketNumber;
  }
  return null;
}

/**
 * A supplement's change to its ticket, worked out from the ticket as it is when written: when someone else
 * changed it since it was read (another mailbox's supplement, a person's approve, an agent's reply adding a
 * participant), it is read again and the change worked out anew, so theirs is kept, not overwritten.
 */
async function changeTicket(
  deps: ImportDependencies,
  read: Ticket,
  changeFor: (ticket: Ticket) => TicketChangeOnSupplement,
): Promise<Ticket> {
  let ticket = read;
  for (let attempt = 1; ; attempt++) {
    if (await deps.tickets.changeOnSupplement(ticket, changeFor(ticket))) return ticket;
    if (attempt >= MAX_CONCURRENT_CHANGE_ATTEMPTS) throw new TicketChangedMeanwhile(ticket.number, attempt);
    const fresh = await deps.tickets.getTicket(ticket.helpdeskId, ticket.number);
    if (!fresh) throw new Error(`ticket ${ticket.number} no longer exists`);
    ticket = fresh;
  }
}

/**
 * The rules' outcome for a mail not planned yet (R19): the mailbox's rules over the mail's facts, the
 * links its subject names by the helpdesk's link criteria, and a moveTo folder resolved (created when
 * missing) so the stored outcome needs nothing looked up again.
 */
async function decideRules(
  deps: ImportDependencies,
  context: MailboxContext,
  parsed: ParsedMail,
  reply: () => ReplyResult,
  sender: ResolvedContact,
  kind: ReturnType<typeof classifyMail>['kind'],
): Promise<RuleDecision> {
  const { helpdesk, mailbox } = context;
  const facts = mailFacts({
    parsed,
    replyText: () => reply().replyText,
    classification: kind,
    senderKnown: !sender.isDefault,
    ticketNumbers: findTicketNumbers(parsed.subject, {
      ticketPrefix: helpdesk.ticketPrefix,
      extraPatterns: helpdesk.importer.subjectPatterns,
    }),
    mailbox,
  });
  const { outcome } = evaluateRules(mailbox.rules, facts);
  for (const skipped of outcome.skipped ?? []) {
    deps.log.warn(`mailbox ${mailbox.id}: rule ${skipped.id} skipped: ${skipped.reason}`);
  }
  const links = mergeLinks(linksFromSubject(parsed.subject, helpdesk.importer.linkCriteria), outcome.links);
  const processing = outcome.postProcessing;
  const operation: RuleDecision['operation'] =
    processing?.action === 'move'
      ? {
          kind: 'move',
          folderId: await deps.mailSource.ensureFolder(mailbox.userId, processing.folder, context.signal),
        }
      : processing && { kind: 'delete' };
  return { ...outcome, links, operation };
}

/** R19 keepAside: the mail waits, with its raw copy, for a person; a retry imports it with the same rules. */
async function keptAsideByRule(
  deps: ImportDependencies,
  context: MailboxContext,
  summary: MailSummary,
  current: { record: MailRecord & { rules: RuleDecision }; etag: string | null },
): Promise<MessageResult> {
  const { record } = current;
  const reason = `kept aside by rule ${record.rules.keepAside} for manual handling`;
  const blobName = await withMime(deps, context, summary, (raw) =>
    deps.rawMail.keepAside(context.helpdesk.id, context.mailbox.id, record.id, raw),
  );
  const at = deps.clock().toISOString();
  await save(deps, { ...record, state: 'keptAside', keptAside: { blobName, reason, at } }, current.etag);
  return {
    key: record.id,
    outcome: 'keptAside',
    ticketNumber: null,
    operation: context.keepAsideOperation,
    classification: record.classification?.kind ?? null,
    senderDomain: record.senderDomain,
    reason,
    attempt: record.attempts + 1,
    rules: record.rules.matched,
    rulesSkipped: record.rules.skipped?.map((rule) => rule.id),
  };
}

/**
 * R19 createContact: a contact of the sender's own instead of the default contact. Its id derives from
 * the address, so a retry writes the same contact again rather than a second one.
 */
async function createContact(
  context: MailboxContext,
  parsed: ParsedMail,
  address: string,
): Promise<ResolvedContact> {
  const { helpdesk } = context;
  const emailLower = address.toLowerCase();
  const contact: Contact = {
    id: `mail-${createHash('sha256').update(emailLower).digest('hex').slice(0, 24)}`,
    helpdeskId: helpdesk.id,
    name:
      flattenHeaderText(parsed.from?.name ?? '')
        .trim()
        .slice(0, 200) || emailLower,
    emailLower,
    organisation: null,
  };
  await context.contacts.put(contact);
  return { contact, senderAddress: address, isDefault: false };
}

async function resolveSender(context: MailboxContext, parsed: ParsedMail): Promise<ResolvedContact> {
  const { helpdesk } = context;
  const address = parsed.from?.address || null;
  const known = address ? await context.contacts.findByAddress(address) : null;
  if (known) return { contact: known, senderAddress: address, isDefault: false };
  const fallback = await context.contacts.get(helpdesk.importer.defaultContactId);
  if (!fallback) throw new Error(`default contact ${helpdesk.importer.defaultContactId} does not exist`);
  return { contact: fallback, senderAddress: address, isDefault: true };
}

async function decidePlan(
  deps: ImportDependencies,
  context: MailboxContext,
  parsed: ParsedMail,
  sender: ResolvedContact,
  kind: ReturnType<typeof classifyMail>['kind'],
  /** Receives the tickets read on the way, so the supplement does not read its ticket again. */
  read: Map<number, Ticket>,
  /** A number this message allocated before: a new ticket gets it rather than another. */
  allocated: number | null,
): Promise<MailPlan> {
  const { helpdesk } = context;
  const subjectNumbers = findTicketNumbers(parsed.subject, {
    ticketPrefix: helpdesk.ticketPrefix,
    extraPatterns: helpdesk.importer.subjectPatterns,
  }).slice(0, 3);
  const knownTickets = new Map<number, TicketFacts>();
  for (const number of subjectNumbers) {
    const ticket = await deps.tickets.getTicket(helpdesk.id, number);
    if (ticket) {
      read.set(number, ticket);
      knownTickets.set(number, {
        number,
        contactAddresses: [ticket.contact.email, ...ticket.participants],
        organisationId: ticket.organisation?.id ?? null,
      });
    }
  }
  const facts = {
    subjectNumbers,
    knownTickets,
    sender: sender.senderAddress ?? '',
    senderOrganisationId: sender.isDefault ? null : (sender.contact.organisation?.id ?? null),
    classification: kind,
    settings: {
      unrelatedSender: helpdesk.importer.unrelatedSender,
      autoReplies: helpdesk.importer.autoReplies,
    },
  };
  // Looked up even when the subject names a ticket (a reply-all from someone on the thread is related),
  // unless the sender is related to that ticket anyway.
  const references = needsThreadMatch(facts) ? referencedMessageIds(parsed) : [];
  const threadMatch = references.length > 0 ? await threadTicket(deps, context, references) : null;
  const decision = decideTarget({ ...facts, threadMatch });
  if (decision.action === 'skip') return { action: 'skip', reason: decision.reason };
  if (decision.action === 'supplement') {
    return {
      action: 'supplement',
      ticketNumber: decision.ticketNumber,
      via: decision.via,
      flagged: decision.flagged ? 'Sender is not related to this ticket.' : null,
      automatic: kind === 'autoReply' ? 'Automatic reply.' : null,
      ...(decision.internal ? { internal: true } : {}),
    };
  }
  if (allocated !== null) return { action: 'createTicket', ticketNumber: allocated };
  const ticketNumber = await deps.helpdesks.allocateTicketNumber(helpdesk.id);
  await reached(deps, 'ticketNumberAllocated');
  return { action: 'createTicket', ticketNumber };
}

async function storeContent(
  deps: ImportDependencies,
  context: MailboxContext,
  parsed: ParsedMail,
  reply: ReplyResult | null,
  ticketNumber: number,
  receivedAt: string,
  origin: ImportedContent['origin'],
): Promise<ImportedContent> {
  const { helpdesk } = context;
  const images: StoredImage[] = [];
  const files: StoredFile[] = [];
  const notStored: AttachmentNotStored[] = [];
  const byContentId = new Map<string, string>();
  for (const attachment of parsed.attachments) {
    if (attachment.content && attachment.detectedFileType) {
      // attachments.keep "all": stored by content hash beside the images, listed with its detected type.
      const blobName = await deps.images.putImage({
        helpdeskId: helpdesk.id,
        ticketNumber,
        content: attachment.content,
        contentType: attachment.detectedFileType,
        sha256: attachment.sha256,
        extension: /\.([a-z0-9]{1,8})$/i.exec(attachment.filename ?? '')?.[1]?.toLowerCase() ?? 'bin',
      });
      if (!files.some((file) => file.blobName === blobName)) {
        files.push({
          blobName,
          detectedType: attachment.detectedFileType,
          contentType: attachment.contentType,
          size: attachment.size,
          sha256: attachment.sha256,
          filename: attachment.filename,
        });
      }
      continue;
    }
    if (!attachment.content || !attachment.detectedType) {
      notStored.push({
        filename: attachment.filename,
        contentType: attachment.contentType,
        size: attachment.size,
        reason: attachment.reason ?? 'not an image',
      });
      continue;
    }
    const blobName = await deps.images.putImage({
      helpdeskId: helpdesk.id,
      ticketNumber,
      content: attachment.content,
      contentType: attachment.detectedType,
      sha256: attachment.sha256,
      extension: imageExtension(attachment.detectedType) ?? 'img',
    });
    if (!images.some((image) => image.blobName === blobName)) {
      images.push({
        blobName,
        contentType: attachment.detectedType,
        size: attachment.size,
        sha256: attachment.sha256,
        filename: attachment.filename,
        contentId: attachment.contentId,
      });
    }
    if (attachment.contentId) byContentId.set(attachment.contentId, deps.imageUrl(blobName));
  }
  const safe = (html: string | null, text: string) =>
    toSafeHtml({
      html,
      text,
      allowExternalImages: helpdesk.importer.attachments.allowExternalImages,
      imageUrlForContentId: (cid) => byContentId.get(cid) ?? null,
      budget: context.budget,
    });
  const html = safe(parsed.html, parsed.text);
  // Nothing was cut from the mail: the same input, the same safe HTML.
  const whole = reply && reply.replyHtml === parsed.html && reply.replyText === parsed.text;
  return {
    subject: parsed.subject,
    receivedAt,
    text: parsed.text,
    html,
    reply: reply && { text: reply.replyText, html: whole ? html : safe(reply.replyHtml, reply.replyText) },
    images,
    files,
    attachmentsNotStored: notStored,
    origin,
  };
}

/**
 * R12: every attachment archived, streamed from a second read of the MIME while it is parsed, so no
 * attachment is held whole in memory; names derive from the message key, so a retry overwrites.
 */
async function archiveAttachments(
  deps: ImportDependencies,
  context: MailboxContext,
  summary: MailSummary,
  key: string,
): Promise<ArchivedAttachment[]> {
  const { helpdesk, mailbox } = context;
  const parsed = await withMime(deps, context, summary, (raw) =>
    parseMail(
      raw,
      {
        maxMessageBytes: helpdesk.importer.attachments.maxMessageBytes,
        ...imageLimits(helpdesk),
        // The archive streams every file; holding their bytes as well would only cost memory.
        keep: 'images',
        budget: context.budget,
      },
      (attachment, content) =>
        deps.rawMail.archiveAttachment(helpdesk.id, mailbox.id, key, attachment, content),
    ),
  );
  return parsed.attachments.map((a) => ({
    filename: a.filename,
    contentType: a.contentType,
    size: a.size,
    blobName: a.archivedAs ?? '',
  }));
}

/**
 * Whether the mail gets an acknowledgement (R16): 'sending' when it does, so the record says so from the
 * moment the ticket is stored.
 */
async function acknowledgementDue(
  deps: ImportDependencies,
  context: MailboxContext,
  record: MailRecord,
  parsed: ParsedMail,
  plan: Exclude<MailPlan, { action: 'skip' }>,
  event: 'newTicket' | 'supplement',
): Promise<MailRecord['acknowledgement']> {
  const { helpdesk } = context;
  const to = parsed.from?.address;
  // An unrelated sender learns nothing about the ticket from us: no acknowledgement with its title (R18).
  if (!to || !helpdesk.importer.acknowledgement[event].enabled) return null;
  if (record.rules?.noAcknowledgement) {
    deps.log.info(`no acknowledgement for ${record.id}: rule ${record.rules.matched.join(', ')} says none`);
    return null;
  }
  if (plan.action === 'supplement' && plan.flagged) return null;
  const settings = helpdesk.importer.acknowledgement;
  const counts = await deps.helpdesks.acknowledgementCounts(
    helpdesk.id,
    normalisedSenderAddress(to),
    deps.clock(),
  );
  const allowed = acknowledgementAllowed({
    classification: record.classification ?? { kind: 'normal', reasons: [] },
    sender: to,
    ownAddresses: context.ownAddresses,
    senderAuthentication: settings.onlyAuthenticatedSenders
      ? senderAuthentication({
          authenticationResults: parsed.headers['authentication-results'] ?? [],
          fromAddress: to,
          trustedAuthservIds: settings.trustedAuthservIds,
        })
      : { authenticated: true, reason: 'the helpdesk answers unauthenticated senders' },
    sentToSender: counts,
    sentByHelpdesk: { lastHour: counts.helpdeskLastHour },
    limits: settings,
  });
  if (!allowed.allowed) {
    deps.log.info(`no acknowledgement for ${record.id}: ${allowed.reason}`);
    return null;
  }
  const messageId = createOwnMessageId(`${record.id}:${event}`, context.ownMessageIdDomain);
  return { messageId, state: 'sending', sendingSince: deps.clock().toISOString() };
}

/**
 * Sends a due acknowledgement at most once, even when the job is redelivered after a crash (R16): a run
 * that resumes one finds out from Sent Items whether an earlier run sent it before it stopped.
 */
async function acknowledge(
  deps: ImportDependencies,
  context: MailboxContext,
  current: { record: MailRecord; etag: string },
  parsed: ParsedMail,
  ticket: Ticket,
  sender: ResolvedContact,
  event: 'newTicket' | 'supplement',
  reference: string,
  resumed: boolean,
): Promise<void> {
  const { helpdesk, mailbox } = context;
  const template = helpdesk.importer.acknowledgement[event];
  const to = parsed.from?.address;
  const messageId = current.record.acknowledgement?.messageId;
  if (!to || !messageId) return;
  // Counted once, by the run that decided it; a crash just before costs one count, never a second mail.
  if (!resumed) {
    await deps.helpdesks.recordAcknowledgement(helpdesk.id, normalisedSenderAddress(to), deps.clock());
  }
  // Known before it is sent, so even a very quick reply to it threads into the ticket (R17).
  await deps.tickets.rememberMessageIds(helpdesk.id, ticket.number, [messageId]);
  // A run whose lease lapsed may not send: the run that took over could be sending the same mail.
  if (!(await context.confirmLease())) throw new Error('the mailbox lease was lost before sending');
  if (resumed) {
    // Graph shows a sent mail in Sent Items a while after sending: until then a look there proves nothing.
    const sendingSince = current.record.acknowledgement?.sendingSince;
    const wait = sentItemsWait(sendingSince, deps.clock(), deps.sentItemsDelayMs);
    if (wait > 0) {
      throw new Error(
        `it may have gone out at ${sendingSince}; Sent Items is looked into by a run from ${Math.ceil(wait / 1000)} s on`,
      );
    }
    if (await deps.mailSource.sentMessageExists(mailbox.userId, messageId, context.signal)) {
      await acknowledgementSent(deps, context, current, ticket, to, event, messageId);
      return;
    }
    if (!template.enabled) {
      // Switched off since it was decided: settle it unsent rather than revisit the message forever.
      await save(deps, { ...current.record, acknowledgement: { messageId, state: 'failed' } }, current.etag);
      return;
    }
  }
  const rendered = renderAcknowledgement({
    template,
    separator: helpdesk.importer.replySeparator,
    placeholders: {
      ticketNumber: String(ticket.number),
      title: ticket.title,
      contactName: sender.isDefault ? parsed.from?.name || to : sender.contact.name,
      helpdeskName: helpdesk.name,
    },
    ticketReference: reference,
  });
  try {
    if (!context.mailboxAddress) throw new Error(`the address of mailbox ${mailbox.id} is unknown`);
    const mime = await composeAcknowledgementMime({
      from: { address: context.mailboxAddress, name: flattenHeaderText(helpdesk.name) },
      to: { address: to, name: echoedName(flattenHeaderText(parsed.from?.name ?? '')) },
      subject: rendered.subject,
      text: rendered.text,
      messageId,
      inReplyTo: parsed.messageId,
      references: [...parsed.references, ...(parsed.messageId ? [parsed.messageId] : [])],
    });
    await deps.mailSource.sendMime(mailbox.userId, mime, context.signal);
  } catch (error) {
    // Stopped mid-send, it may have gone out: left 'sending' for the next run to look in Sent Items.
    if (context.signal?.aborted) throw error;
    // The ticket is stored; a failed acknowledgement must not undo or block that.
    await save(deps, { ...current.record, acknowledgement: { messageId, state: 'failed' } }, current.etag);
    deps.log.warn(`acknowledgement for ${current.record.id} not sent: ${errorMessage(error)}`);
    return;
  }
  await acknowledgementSent(deps, context, current, ticket, to, event, messageId);
}

async function acknowledgementSent(
  deps: ImportDependencies,
  context: MailboxContext,
  current: { record: MailRecord; etag: string },
  ticket: Ticket,
  to: string,
  event: 'newTicket' | 'supplement',
  messageId: string,
): Promise<void> {
  const { helpdesk } = context;
  await deps.tickets.putHistory(
    historyEntry({
      ticket,
      event: 'acknowledgementSent',
      at: deps.clock().toISOString(),
      by: helpdesk.importer.defaultEmployee,
      text: `Acknowledgement sent to ${to}.`,
      messageKey: `${current.record.id}-${event}`,
    }),
  );
  await save(deps, { ...current.record, acknowledgement: { messageId, state: 'sent' } }, current.etag);
  await reached(deps, 'acknowledged');
}
