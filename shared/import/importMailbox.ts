import { randomUUID } from 'node:crypto';
import { deltaTokenExpired } from '../graph/graphMailSource.js';
import type { MailSummary, SourceOperation } from '../graph/mailSource.js';
import type { Helpdesk, MailboxSettings } from '../helpdesk/settings.js';
import { DEFAULT_MESSAGE_BUDGET_MS, ProcessingBudget } from '../mail/processingBudget.js';
import type { ImportTelemetry } from '../observability/telemetry.js';
import type { ImportDependencies } from './dependencies.js';
import {
  completeGroup,
  importMessage,
  type MailboxContext,
  type MessageResult,
  mayReadAhead,
  type ParsedAhead,
  PendingCompletions,
  readAhead,
} from './importMessage.js';
import {
  knownMailboxAddresses,
  messageIdDomain,
  ownAddress,
  type ResolvedAddress,
} from './mailboxAddresses.js';
import type { MailboxRef, MailboxStatus, RunCounts } from './ports.js';
import { RunContacts } from './runContacts.js';

export interface MailboxRunResult {
  helpdeskId: string;
  mailboxId: string;
  /**
   * busy: another run holds the mailbox's lease; notFound: no such helpdesk or mailbox; disabled: the
   * helpdesk's importer is switched off; refused: the mailbox is outside this deployment's allow-list;
   * incomplete: the run stopped early (time budget, lease lost, another run working on the same message)
   * or failed.
   */
  status: 'done' | 'incomplete' | 'busy' | 'notFound' | 'disabled' | 'refused';
  counts: RunCounts;
  created: number[];
  supplemented: number[];
  /** Message keys that failed or were kept aside in this run, with the reason. */
  problems: Array<{ key: string | null; outcome: string; reason: string | null }>;
  durationMs: number;
}

export interface RunOptions {
  trigger: string;
  /** Epoch milliseconds after which no new message is started; the rest is left for the next run. */
  deadline: number;
  telemetry: ImportTelemetry;
  /** How long the mailbox lease lasts unrenewed (default one minute); a live run renews it every third. */
  leaseTtlMs?: number;
  /** How long one message may take before it is kept aside (default DEFAULT_MESSAGE_BUDGET_MS). */
  messageBudgetMs?: number;
  /**
   * Imports just these messages instead of listing the mailbox (a person's resolve, R20): under the same
   * lease, but no check of the whole mailbox, so the last check and the scan position stay (R4, R5).
   */
  only?: MailSummary[];
  /**
   * Scan type delta: start a fresh round over mail received since the last scan instead of the stored
   * deltaLink (Graph said notifications were missed).
   */
  fullScan?: boolean;
}

/** The one mail of a run fetched and parsed ahead of its turn. */
class ReadingAhead {
  private current: {
    messageId: string;
    result: Promise<ParsedAhead | undefined>;
    cancel: AbortController;
  } | null = null;

  constructor(
    private readonly deps: ImportDependencies,
    private readonly runSignal: AbortSignal,
  ) {}

  start(context: MailboxContext, summary: MailSummary, budget: ProcessingBudget): void {
    const cancel = new AbortController();
    const signal = AbortSignal.any([this.runSignal, cancel.signal]);
    this.current = {
      messageId: summary.id,
      result: readAhead(this.deps, { ...context, signal }, summary, budget),
      cancel,
    };
  }

  /** The mail's read-ahead, if it is the one read ahead. */
  async take(messageId: string): Promise<ParsedAhead | undefined> {
    const current = this.current;
    if (current?.messageId !== messageId) return undefined;
    this.current = null;
    return current.result;
  }

  async stop(): Promise<void> {
    const current = this.current;
    this.current = null;
    current?.cancel.abort(new Error('the run ended before its turn'));
    await current?.result;
  }
}

/**
 * Post-processing goes out in groups this large: one Graph $batch call each, and before it one request for
 * the group's thread entries and one for its records (mail without an acknowledgement to send).
 */
const OPERATION_GROUP = 20;
/** A run that died holds its mailbox this long at most. */
const LEASE_TTL_MS = 60_000;
/** Post-processing of mail imported before the deadline may run this much longer. */
const FLUSH_GRACE_MS = 30_000;
/** The first "since last scan" run looks back this far. */
const FIRST_SCAN_LOOKBACK_MS = 86_400_000;
/** Mail that arrives while a scan runs can carry an earlier received time; overlap scans a little. */
const SCAN_OVERLAP_MS = 10 * 60_000;

function emptyCounts(): RunCounts {
  return { created: 0, supplemented: 0, skipped: 0, keptAside: 0, failed: 0, alreadyImported: 0 };
}

/**
 * R1 allows a mailbox by Graph user id, but acknowledgements (their From) and the loop checks need its
 * address: read from Graph once per user id, then kept on the mailbox's status. Null when Graph gives
 * none (logged): the import goes on, only acknowledgements from that mailbox fail.
 */
async function resolveAddress(
  deps: ImportDependencies,
  mailbox: MailboxSettings,
  cached: ResolvedAddress,
  signal: AbortSignal,
): Promise<ResolvedAddress> {
  if (mailbox.userId.includes('@')) return null;
  if (cached?.userId === mailbox.userId) return cached;
  try {
    const address = await deps.mailSource.mailboxAddress(mailbox.userId, signal);
    if (address) return { userId: mailbox.userId, address };
    deps.log.warn(`mailbox ${mailbox.id}: Graph has no mail address for user ${mailbox.userId}`);
  } catch (error) {
    if (signal.aborted) throw error;
    deps.log.warn(
      `mailbox ${mailbox.id}: the address of user ${mailbox.userId} could not be read from Graph: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  return null;
}

/** Addresses of all the helpdesk's mailboxes, for the loop checks; the others' from their statuses. */
async function helpdeskAddresses(
  deps: ImportDependencies,
  helpdesk: Helpdesk,
  mailbox: MailboxSettings,
  address: string | null,
  signal: AbortSignal,
): Promise<string[]> {
  const others = helpdesk.importer.mailboxes.filter((m) => m.id !== mailbox.id);
  const known = await knownMailboxAddresses(deps.helpdesks, helpdesk.id, others);
  const addresses = [address];
  for (const other of others) {
    addresses.push(known.get(other.id) ?? ownAddress(other, await resolveAddress(deps, other, null, signal)));
  }
  return addresses.filter((a): a is string => a !== null);
}

async function resolveOperations(
  deps: ImportDependencies,
  helpdesk: Helpdesk,
  mailbox: MailboxSettings,
  signal: AbortSignal,
): Promise<{ done: SourceOperation; keepAside: SourceOperation }> {
  const processing = mailbox.postProcessing;
  const done: SourceOperation =
    processing.action === 'move'
      ? {
          kind: 'move',
          folderId: await deps.mailSource.ensureFolder(mailbox.userId, processing.folder, signal),
        }
      : { kind: processing.action };
  const { category, folder } = helpdesk.importer.keepAside;
  const keepAside: SourceOperation = folder
    ? {
        kind: 'keepAside',
        category,
        folderId: await deps.mailSource.ensureFolder(mailbox.userId, folder, signal),
      }
    : { kind: 'keepAside', category };
  return { done, keepAside };
}

/**
 * Imports one mailbox: lists its mail oldest first, imports each message, post-processes the source
 * messages in $batch groups only after their tickets are stored, and records the run on the mailbox's
 * status (R4). Holds the mailbox's lease throughout, renewing it while it lives, so two runs never import
 * the same mailbox at once; if the lease is lost anyway, the per-message records keep it exactly once.
 * Running out of time or losing the lease stops the run cleanly, leaving the rest for the next run.
 */
export async function importMailbox(
  deps: ImportDependencies,
  ref: MailboxRef,
  options: RunOptions,
): Promise<MailboxRunResult> {
  const started = Date.now();
  const result: MailboxRunResult = {
    ...ref,
    status: 'done',
    counts: emptyCounts(),
    created: [],
    supplemented: [],
    problems: [],
    durationMs: 0,
  };
  const helpdesk = await deps.helpdesks.get(ref.helpdeskId);
  const mailbox = helpdesk?.importer.mailboxes.find((m) => m.id === ref.mailboxId);
  if (!helpdesk || !mailbox) return { ...result, status: 'notFound' };
  if (!helpdesk.importer.enabled) {
    // A job queued before the importer was switched off, or a retry: dropped, the mail stays as it is.
    deps.log.warn(
      `importer of helpdesk ${ref.helpdeskId} is disabled; mailbox ${ref.mailboxId} not imported`,
    );
    return { ...result, status: 'disabled' };
  }
  const status = await deps.helpdesks.mailboxStatus(ref.helpdeskId, ref.mailboxId);
  if (!deps.mailboxAllowed(mailbox.userId)) {
    // Settings saved before the allow-list narrowed, or written around the API: never read it.
    const message = `import of ${ref.helpdeskId}/${ref.mailboxId} refused: its mailbox is not in ALLOWED_MAILBOXES`;
    deps.log.error(message);
    const now = deps.clock().toISOString();
    await deps.helpdesks.saveMailboxStatus({
      ...status,
      lastRunAt: now,
      lastRunComplete: false,
      lastError: { at: now, message },
    });
    return { ...result, status: 'refused' };
  }

  const leaseTtl = options.leaseTtlMs ?? LEASE_TTL_MS;
  const lease = await deps.helpdesks.acquireLease(ref, randomUUID(), leaseTtl);
  if (!lease) return { ...result, status: 'busy' };

  const stop = new AbortController();
  const budget = setTimeout(
    () => stop.abort(new Error('time budget used up')),
    Math.max(0, options.deadline - Date.now()),
  );
  const finishing = AbortSignal.timeout(Math.max(0, options.deadline - Date.now()) + FLUSH_GRACE_MS);
  // One renewal at a time: two at once would race on the lease's etag and one would look lost.
  let renewal = Promise.resolve(true);
  let queued = 0;
  const confirmLease = (): Promise<boolean> => {
    queued++;
    renewal = renewal.then(async (held) => {
      let renewed = false;
      try {
        renewed = held && (await lease.renew(leaseTtl));
      } catch {
        // Unsure whether it still holds the mailbox: stop, as if it did not.
      } finally {
        queued--;
      }
      if (!renewed) stop.abort(new Error('the mailbox lease was lost'));
      return renewed;
    });
    return renewal;
  };
  // Skipped while a renewal is under way: slow renewals must not pile up ahead of a confirmation.
  const heartbeat = setInterval(() => {
    if (queued === 0) void confirmLease();
  }, leaseTtl / 3);
  const scanStartedAt = deps.clock().toISOString();
  let runError: string | null = null;
  let resolvedAddress: ResolvedAddress = null;
  /** A message failed or was left to another run: a "since last scan" listing must reach it again. */
  let leftBehind = false;
  /** The delta round this run read; stored only once the whole round is imported. */
  let delta: DeltaState | null = null;
  /** The next mail, fetched and parsed ahead; stopped when the run ends before its turn. */
  const readingAhead = new ReadingAhead(deps, stop.signal);
  try {
    const operations = await resolveOperations(deps, helpdesk, mailbox, stop.signal);
    resolvedAddress = await resolveAddress(deps, mailbox, status.resolvedAddress, stop.signal);
    const address = ownAddress(mailbox, resolvedAddress);
    const context: MailboxContext = {
      helpdesk,
      mailbox,
      mailboxAddress: address,
      doneOperation: operations.done,
      keepAsideOperation: operations.keepAside,
      ownAddresses: await helpdeskAddresses(deps, helpdesk, mailbox, address, stop.signal),
      ownMessageIdDomain: messageIdDomain(helpdesk, address),
      signal: stop.signal,
      confirmLease,
      contacts: new RunContacts(deps.contacts, helpdesk.id),
      completions: new PendingCompletions(),
      maybeSeenBefore: lease.tookOver ? scanStartedAt : status.lastRunAt,
    };
    const since = new Date(
      status.lastScanStartedAt
        ? Date.parse(status.lastScanStartedAt) - SCAN_OVERLAP_MS
        : Date.now() - FIRST_SCAN_LOOKBACK_MS,
    ).toISOString();
    const pending: Array<{ messageId: string; operation: SourceOperation }> = [];
    /** Mails imported but for their group's writes: reported once those are done. */
    const awaitingGroup = new Map<
      string,
      { summary: MailSummary; outcome: MessageResult; durationMs: number }
    >();
    /** One record per message, whatever its outcome (R23); false when another run is in the mailbox. */
    const report = (summary: MailSummary, outcome: MessageResult, durationMs: number): boolean => {
      options.telemetry.messageOutcome({
        helpdeskId: ref.helpdeskId,
        mailboxId: ref.mailboxId,
        messageKey: outcome.key ?? summary.id,
        outcome: outcome.outcome,
        ticketNumber: outcome.ticketNumber,
        durationMs,
        classification: outcome.classification,
        senderDomain: outcome.senderDomain,
        reason: outcome.reason,
        attempt: outcome.attempt,
        rules: outcome.rules,
        rulesSkipped: outcome.rulesSkipped,
      });
      if (outcome.outcome === 'inProgressElsewhere') {
        // Another run is in this mailbox after all (a lease lapsed): leave the rest to it.
        deps.log.warn(`message ${outcome.key} is being imported by another run; stopping this one`);
        leftBehind = true;
        result.status = 'incomplete';
        return false;
      }
      record(result, outcome);
      if (outcome.outcome === 'failed') leftBehind = true;
      if (outcome.operation && operationNeeded(outcome, summary))
        pending.push({ messageId: summary.id, operation: outcome.operation });
      return true;
    };
    /** Writes the group's thread entries and records, then post-processes it; false as `report`. */
    const flush = async (): Promise<boolean> => {
      const completed = await completeGroup(deps, helpdesk.id, context.completions?.take() ?? []);
      let goOn = true;
      for (const [sourceId, awaited] of awaitingGroup) {
        const group = completed.get(sourceId);
        const outcome: MessageResult =
          !group || group.stored
            ? awaited.outcome
            : {
                ...awaited.outcome,
                // Written, not recorded: the next run completes it from its plan, no attempt counted.
                outcome: group.changedElsewhere ? 'inProgressElsewhere' : 'failed',
                operation: null,
                reason: group.reason,
              };
        goOn = report(awaited.summary, outcome, awaited.durationMs) && goOn;
      }
      awaitingGroup.clear();
      if (pending.length > 0) {
        const group = pending.splice(0, pending.length);
        // Not the run's stop signal: what is imported gets post-processed even when the run stops.
        const outcomes = await deps.mailSource.applyOperations(mailbox.userId, group, finishing);
        for (const outcome of outcomes.filter((o) => !o.ok)) {
          // The ticket is stored; the record makes the next run only post-process this message again.
          deps.log.warn(`post-processing ${outcome.messageId} failed: ${outcome.error ?? 'unknown error'}`);
        }
      }
      return goOn;
    };

    const listing = options.only
      ? [options.only]
      : scanPages(deps, mailbox, status, since, options.fullScan ?? false, stop.signal, (d) => {
          delta = d;
        });
    // Its own budget, or what is left of the run's when less: then the run stops, not the mail.
    const messageBudget = (usedMs = 0) =>
      new ProcessingBudget(
        options.messageBudgetMs ?? DEFAULT_MESSAGE_BUDGET_MS,
        {
          at: options.deadline,
          stop: () => {
            stop.abort(new Error('time budget used up'));
            return stop.signal.reason;
          },
        },
        usedMs,
      );
    pages: for await (const page of listing) {
      for (const [index, summary] of page.entries()) {
        if (stop.signal.aborted || Date.now() >= options.deadline) {
          result.status = 'incomplete';
          break pages;
        }
        const messageStarted = Date.now();
        const parsedAhead = await readingAhead.take(summary.id);
        // The next mail's MIME is fetched and parsed while this one is decided and written (one ahead).
        const next = page[index + 1];
        const onParsed =
          next && mayReadAhead(context, next)
            ? () => readingAhead.start(context, next, messageBudget())
            : undefined;
        let outcome: MessageResult;
        try {
          outcome = await importMessage(
            deps,
            { ...context, budget: messageBudget(parsedAhead?.parseMs), onParsed },
            summary,
            parsedAhead,
          );
        } catch (error) {
          if (!stop.signal.aborted) throw error;
          result.status = 'incomplete';
          break pages;
        }
        // A mail read ahead was parsed before its turn: that time is its own too.
        const durationMs = Date.now() - messageStarted + (parsedAhead?.parseMs ?? 0);
        if (context.completions?.has(summary.id)) {
          awaitingGroup.set(summary.id, { summary, outcome, durationMs });
        } else if (!report(summary, outcome, durationMs)) {
          break pages;
        }
        const groupFull = pending.length + awaitingGroup.size >= OPERATION_GROUP;
        if (groupFull && !(await flush())) break pages;
      }
    }
    await flush();
  } catch (error) {
    if (!stop.signal.aborted) {
      runError = error instanceof Error ? error.message : String(error);
      result.status = 'incomplete';
      throw error;
    }
    // Stopped while listing or resolving folders: nothing was imported yet, nothing is wrong.
    result.status = 'incomplete';
  } finally {
    await readingAhead.stop();
    clearInterval(heartbeat);
    clearTimeout(budget);
    result.durationMs = Date.now() - started;
    const now = deps.clock().toISOString();
    const complete = result.status === 'done';
    const checked = complete && !options.only;
    await deps.helpdesks.saveMailboxStatus({
      ...status,
      lastRunAt: now,
      lastRunComplete: complete,
      lastCounts: result.counts,
      // R4: a check counts only when it went through the whole mailbox; an error stays until then.
      lastSuccessfulCheckAt: checked ? now : status.lastSuccessfulCheckAt,
      lastScanStartedAt: checked && !leftBehind ? scanStartedAt : status.lastScanStartedAt,
      lastError: runError ? { at: now, message: runError } : checked ? null : status.lastError,
      resolvedAddress: resolvedAddress ?? status.resolvedAddress,
      delta: complete && !leftBehind && delta ? delta : status.delta,
    });
    options.telemetry.mailboxRun({
      helpdeskId: ref.helpdeskId,
      mailboxId: ref.mailboxId,
      trigger: options.trigger,
      ...result.counts,
      durationMs: result.durationMs,
      complete,
      error: runError,
    });
    // A renewal under way changes the lease's etag; releasing before it ends would miss and leave it to expire.
    await renewal;
    await lease.release();
  }
  return result;
}

type DeltaState = NonNullable<MailboxStatus['delta']>;

/**
 * Scan type delta: the round from the stored deltaLink, or a fresh one over mail received since `since`
 * when there is none (first run, folder changed, full scan asked for) or Graph no longer knows it.
 */
async function deltaScan(
  deps: ImportDependencies,
  mailbox: MailboxSettings,
  stored: MailboxStatus['delta'],
  since: string,
  fullScan: boolean,
  signal: AbortSignal,
): Promise<{ messages: MailSummary[]; delta: DeltaState }> {
  const at = deps.clock().toISOString();
  const fresh = async () => {
    const round = await deps.mailSource.deltaMessages(mailbox, { receivedSince: since }, signal);
    return { messages: round.messages, delta: { folder: mailbox.folder, link: round.deltaLink, at } };
  };
  if (!stored || stored.folder !== mailbox.folder || fullScan) return fresh();
  try {
    const round = await deps.mailSource.deltaMessages(mailbox, { deltaLink: stored.link }, signal);
    return { messages: round.messages, delta: { folder: mailbox.folder, link: round.deltaLink, at } };
  } catch (error) {
    if (!deltaTokenExpired(error)) throw error;
    deps.log.warn(
      `mailbox ${mailbox.id}: Graph no longer knows the delta token (${error instanceof Error ? error.message : String(error)}); full scan of mail received since ${since}, and a fresh token`,
    );
    return fresh();
  }
}

/** Its mail, oldest first, in pages, as the mailbox's scan type reads it. */
async function* scanPages(
  deps: ImportDependencies,
  mailbox: MailboxSettings,
  status: MailboxStatus,
  since: string,
  fullScan: boolean,
  signal: AbortSignal,
  onDelta: (delta: DeltaState) => void,
): AsyncIterable<MailSummary[]> {
  if (mailbox.scan !== 'delta') {
    yield* deps.mailSource.listMessages(
      mailbox,
      { scan: mailbox.scan, ...(mailbox.scan === 'sinceLastScan' ? { since } : {}) },
      signal,
    );
    return;
  }
  const round = await deltaScan(deps, mailbox, status.delta, since, fullScan, signal);
  onDelta(round.delta);
  if (round.messages.length > 0) yield round.messages;
}

/** Marking a message read that is read already only makes a change that the next delta round reads back. */
function operationNeeded(outcome: MessageResult, summary: MailSummary): boolean {
  return !(outcome.outcome === 'alreadyImported' && outcome.operation?.kind === 'markRead' && summary.isRead);
}

function record(result: MailboxRunResult, outcome: MessageResult): void {
  switch (outcome.outcome) {
    case 'created':
      result.counts.created++;
      if (outcome.ticketNumber !== null) result.created.push(outcome.ticketNumber);
      return;
    case 'supplemented':
      result.counts.supplemented++;
      if (outcome.ticketNumber !== null) result.supplemented.push(outcome.ticketNumber);
      return;
    case 'skipped':
      result.counts.skipped++;
      return;
    case 'alreadyImported':
      result.counts.alreadyImported++;
      return;
    case 'keptAside':
      result.counts.keptAside++;
      result.problems.push({ key: outcome.key, outcome: outcome.outcome, reason: outcome.reason });
      return;
    case 'failed':
      result.counts.failed++;
      result.problems.push({ key: outcome.key, outcome: outcome.outcome, reason: outcome.reason });
      return;
    case 'stillKeptAside':
    case 'inProgressElsewhere':
      return;
  }
}
