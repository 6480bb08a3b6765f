/**
 * Telemetry of the mail import (R23): one structured record per message and one summary per mailbox run;
 * and of agent replies (R21): one record per delivery of a send job.
 *
 * In the Functions Node.js worker, `context.log` text reaches Application Insights as `traces.message`
 * and nothing else of ours, so a record is a single line: a stable prefix, a space, and a JSON object.
 * KQL finds the lines by prefix and parses the rest with `parse_json(substring(message, …))`; the
 * counters (created, supplemented, skipped, kept aside, failed per time bin) are summaries over those
 * records — ready-made queries in docs/monitoring.md — rather than a second channel with its own SDK.
 *
 * Records never hold message bodies, subjects or full addresses: only the sender's domain, and every
 * free text is stripped of address local parts before it is written.
 */

export type MessageOutcome =
  | 'created'
  | 'supplemented'
  | 'skipped'
  | 'keptAside'
  | 'failed'
  | 'alreadyImported'
  /** Kept aside on an earlier run and still waiting for a retry through the API. */
  | 'stillKeptAside'
  /** Another run changed the message's record meanwhile and carries it on; this run stops. */
  | 'inProgressElsewhere';

export interface MessageOutcomeRecord {
  helpdeskId: string;
  mailboxId: string;
  messageKey: string;
  outcome: MessageOutcome;
  ticketNumber: number | null;
  durationMs: number;
  classification: string | null;
  senderDomain: string | null;
  reason: string | null;
  attempt: number;
  /** Ids of the rules that matched (R19), set by administrators: no mail content. */
  rules?: string[];
  /** Ids of the rules left out because they could not be evaluated (a pattern that no longer compiles). */
  rulesSkipped?: string[];
}

export interface MailboxRunSummary {
  helpdeskId: string;
  mailboxId: string;
  trigger: string;
  created: number;
  supplemented: number;
  skipped: number;
  keptAside: number;
  failed: number;
  alreadyImported: number;
  durationMs: number;
  complete: boolean;
  error: string | null;
}

/**
 * What one delivery of an agent reply's send job (R21) came to: `sent`; `alreadySent` (found in Sent
 * Items: an earlier attempt did send it); `failed` (for good, until retried); `retrying` (this attempt
 * failed, the host delivers the job again); `inProgressElsewhere` (another job is sending it);
 * `nothingToDo` (no longer queued: sent or failed before); `waitingForSentItems` (an attempt started a
 * moment ago: the job is queued again for when Sent Items would show its mail).
 */
export type ReplyOutcome =
  | 'sent'
  | 'waitingForSentItems'
  | 'alreadySent'
  | 'failed'
  | 'retrying'
  | 'inProgressElsewhere'
  | 'nothingToDo';

export interface ReplyOutcomeRecord {
  helpdeskId: string;
  /** Null when the reply does not exist (any more). */
  mailboxId: string | null;
  ticketNumber: number;
  replyId: string;
  outcome: ReplyOutcome;
  /** Send attempts started so far, this one included. */
  attempts: number;
  /** Times the reply was queued (1, one more per retry). */
  round: number;
  durationMs: number;
  reason: string | null;
}

export interface ImportTelemetry {
  messageOutcome(record: MessageOutcomeRecord): void;
  mailboxRun(summary: MailboxRunSummary): void;
}

export interface ReplyTelemetry {
  replyOutcome(record: ReplyOutcomeRecord): void;
}

/** Prefix of a per-message line in `traces.message`. */
export const MESSAGE_RECORD_PREFIX = 'mail-import.message';
/** Prefix of a per-run line in `traces.message`. */
export const RUN_RECORD_PREFIX = 'mail-import.run';
/** Prefix of a per-delivery line of an agent reply's send job in `traces.message`. */
export const REPLY_RECORD_PREFIX = 'agent-reply.send';
/** Version of the record shape (`v`), raised when a field changes meaning. */
const RECORD_VERSION = 1;

/** Longest free text (reason, error) kept in a record. */
export const MAX_TEXT_LENGTH = 300;
const MAX_ID_LENGTH = 200;

/** A character of an unquoted local part: anything up to the previous separator. */
const LOCAL_CHAR = String.raw`[^\s@<>()[\]{},;:"]`;
/**
 * local@domain, the local part unquoted (starting only where a run of local characters starts, so a
 * long run without "@" is read once, not once per position) or quoted ("john doe"@domain).
 */
const ADDRESS = new RegExp(
  String.raw`(?:"(?:[^"\\\r\n]|\\.)*"|(?<!${LOCAL_CHAR})${LOCAL_CHAR}+)@(?=[\p{L}\p{N}[])`,
  'gu',
);
/** A character of a percent-encoded local part (URL separators end it), or one encoded character. */
const ENCODED_CHAR = String.raw`(?:[^\s@<>()[\]{},;:"'/?&=#%]|%(?!(?:25)?40)[0-9A-Fa-f]{2})`;
/**
 * local%40domain as it stands in URLs and Graph error reasons (%2540 when encoded twice), starting
 * only where a run of such characters starts, so a long run is read once.
 */
const ENCODED_ADDRESS = new RegExp(
  String.raw`(?<![^\s@<>()[\]{},;:"'/?&=#])${ENCODED_CHAR}+%(?:25)?40(?=[\p{L}\p{N}[])`,
  'gu',
);
const DOMAIN =
  /^[\p{L}\p{N}](?:[\p{L}\p{N}-]*[\p{L}\p{N}])?(?:\.[\p{L}\p{N}](?:[\p{L}\p{N}-]*[\p{L}\p{N}])?)*$/u;

/**
 * The text with the local part of every address replaced by "*": plain, quoted and percent-encoded
 * (jane.doe%40contoso.com, in URLs and Graph error reasons). For every line that may reach the logs.
 */
export function withoutAddresses(text: string): string {
  return text
    .replace(ADDRESS, '*@')
    .replace(ENCODED_ADDRESS, (match) => `*${match.slice(match.lastIndexOf('%'))}`);
}

interface LineLog {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** A log whose every line goes through withoutAddresses first (error texts of Graph and of mail alike). */
export function addressFreeLog(log: LineLog): LineLog {
  return {
    info: (message) => log.info(withoutAddresses(message)),
    warn: (message) => log.warn(withoutAddresses(message)),
    error: (message) => log.error(withoutAddresses(message)),
  };
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function identifier(value: string): string {
  return clip(withoutAddresses(value), MAX_ID_LENGTH);
}

function freeText(value: string | null): string | null {
  if (value === null) return null;
  return clip(withoutAddresses(value).replace(/\s+/g, ' ').trim(), MAX_TEXT_LENGTH);
}

/** The domain alone, lower-cased, whether given a domain or (by mistake) an address; null if it is not a domain. */
function domainOnly(value: string | null): string | null {
  if (value === null) return null;
  const domain = value
    .slice(value.lastIndexOf('@') + 1)
    .trim()
    .toLowerCase()
    .replace(/[>.\s]+$/, '');
  return domain.length <= 253 && DOMAIN.test(domain) ? domain : null;
}

function count(value: number): number {
  return Number.isFinite(value) ? Math.max(0, Math.round(value)) : 0;
}

function messageFields(record: MessageOutcomeRecord) {
  return {
    v: RECORD_VERSION,
    helpdeskId: identifier(record.helpdeskId),
    mailboxId: identifier(record.mailboxId),
    messageKey: identifier(record.messageKey),
    outcome: record.outcome,
    ticketNumber: record.ticketNumber,
    durationMs: count(record.durationMs),
    classification: freeText(record.classification),
    senderDomain: domainOnly(record.senderDomain),
    reason: freeText(record.reason),
    attempt: count(record.attempt),
    rules: (record.rules ?? []).map(identifier),
    rulesSkipped: (record.rulesSkipped ?? []).map(identifier),
  };
}

function runFields(summary: MailboxRunSummary) {
  return {
    v: RECORD_VERSION,
    helpdeskId: identifier(summary.helpdeskId),
    mailboxId: identifier(summary.mailboxId),
    trigger: identifier(summary.trigger),
    created: count(summary.created),
    supplemented: count(summary.supplemented),
    skipped: count(summary.skipped),
    keptAside: count(summary.keptAside),
    failed: count(summary.failed),
    alreadyImported: count(summary.alreadyImported),
    durationMs: count(summary.durationMs),
    complete: summary.complete,
    error: freeText(summary.error),
  };
}

interface TelemetryLog {
  info(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
}

function replyFields(record: ReplyOutcomeRecord) {
  return {
    v: RECORD_VERSION,
    helpdeskId: identifier(record.helpdeskId),
    mailboxId: record.mailboxId === null ? null : identifier(record.mailboxId),
    ticketNumber: record.ticketNumber,
    replyId: identifier(record.replyId),
    outcome: record.outcome,
    attempts: count(record.attempts),
    round: count(record.round),
    durationMs: count(record.durationMs),
    reason: freeText(record.reason),
  };
}

/**
 * Telemetry written through a log (an InvocationContext in Azure). Only the fields above are written,
 * whatever else the objects passed in carry. A message that failed or was kept aside logs as a warning;
 * a run that did not complete logs as a warning, one that ended in an error as an error.
 */
export function createTelemetry(log: TelemetryLog): ImportTelemetry {
  return {
    messageOutcome(record) {
      const line = `${MESSAGE_RECORD_PREFIX} ${JSON.stringify(messageFields(record))}`;
      if (record.outcome === 'failed' || record.outcome === 'keptAside') log.warn(line);
      else log.info(line);
    },
    mailboxRun(summary) {
      const line = `${RUN_RECORD_PREFIX} ${JSON.stringify(runFields(summary))}`;
      if (summary.error !== null) log.error(line);
      else if (!summary.complete) log.warn(line);
      else log.info(line);
    },
  };
}

/** Reply telemetry through a log, like createTelemetry: `failed` as an error, `retrying` as a warning. */
export function createReplyTelemetry(log: TelemetryLog): ReplyTelemetry {
  return {
    replyOutcome(record) {
      const line = `${REPLY_RECORD_PREFIX} ${JSON.stringify(replyFields(record))}`;
      if (record.outcome === 'failed') log.error(line);
      else if (record.outcome === 'retrying') log.warn(line);
      else log.info(line);
    },
  };
}
