/** Ticket numbers in mail subjects (R6): finding them, and writing the tag we put in outgoing mail. */

import { SafeRegex, UnsafePatternError } from '../text/safeRegex.js';

export interface TicketNumberOptions {
  /** The helpdesk's own prefix, e.g. "HD" for "[HD-123]". */
  ticketPrefix?: string;
  /**
   * Regular expression sources with one capture group holding the number, case-insensitive, run by
   * the linear-time engine (safeRegex.ts).
   */
  extraPatterns: string[];
}

/** Only the start of a subject is scanned, which bounds the cost of configured patterns. */
const MAX_SCANNED_LENGTH = 1000;
/** Longer digit runs are ids of other kinds (phone numbers, order ids), not ticket numbers. */
const MAX_DIGITS = 12;

const DIGITS_ONLY = new RegExp(`^\\d{1,${MAX_DIGITS}}$`, 'u');

const PREFIX_FORMAT = /^[A-Za-z][A-Za-z0-9]{0,9}$/;

/**
 * Reply and forward markers in the languages our customers' mail clients use. A marker counts
 * only when followed by a colon, so words like "Regarding" or "Trouble" are left alone.
 */
const REPLY_MARKERS = [
  're',
  'aw',
  'antw',
  'antwort',
  'fw',
  'fwd',
  'wg',
  'doorst',
  'odp',
  'pd',
  'sv',
  'vs',
  'vb',
  'vl',
  'tr',
  'rv',
  'r',
  'rif',
  'res',
  'enc',
  'ynt',
  'ilt',
  'İlt',
  'atb',
  'отв',
  'пересл',
  'ответ',
  'απ',
  'σχετ',
  'προωθ',
  '回复',
  '回覆',
  '答复',
  '转发',
  '轉寄',
  '轉發',
];

const REPLY_PREFIX = new RegExp(
  String.raw`^\s*(\[\s*)?(?:${REPLY_MARKERS.join('|')})\s*(?:\[\d+\]|\(\d+\)|\^\d+)?\s*[:：]\s*`,
  'iu',
);

/** Removes any number of leading reply/forward markers ("RE: AW: Fwd: ...", "Re[2]:", "[Fwd: ...]"). */
export function stripReplyPrefixes(subject: string): string {
  let rest = subject;
  let openBrackets = 0;
  for (;;) {
    const match = REPLY_PREFIX.exec(rest);
    if (!match) break;
    if (match[1] !== undefined) openBrackets += 1;
    rest = rest.slice(match[0].length);
  }
  // "[Fwd: subject]" style: each opened marker bracket closes at the first unmatched "]".
  for (; openBrackets > 0; openBrackets -= 1) rest = withoutFirstUnmatchedClosing(rest);
  return rest.trim();
}

function withoutFirstUnmatchedClosing(text: string): string {
  let depth = 0;
  for (let index = 0; index < text.length; index += 1) {
    if (text[index] === '[') depth += 1;
    else if (text[index] === ']') {
      if (depth === 0) return `${text.slice(0, index).trimEnd()}${text.slice(index + 1)}`;
      depth -= 1;
    }
  }
  return text;
}

/** The tag written into the subject of outgoing mail; findTicketNumbers recognises it first. */
export function formatTicketReference(ticketNumber: number, ticketPrefix?: string): string {
  if (!Number.isSafeInteger(ticketNumber) || ticketNumber <= 0) {
    throw new RangeError(`ticket number must be a positive integer, got ${ticketNumber}`);
  }
  if (ticketPrefix === undefined) return `[#${ticketNumber}]`;
  if (!PREFIX_FORMAT.test(ticketPrefix)) {
    throw new RangeError('ticket prefix must be 1-10 letters or digits, starting with a letter');
  }
  return `[${ticketPrefix}-${ticketNumber}]`;
}

// A number ends where no letter, digit or joined number part follows: "#12-3456" (phone),
// "Ticket 12.05.2024" (date) and "#12abc" are not ticket numbers.
const NUMBER = String.raw`(\d{1,${MAX_DIGITS}})(?![\p{L}\p{N}_]|[-./:,]\d)`;
const NOT_AFTER_WORD = String.raw`(?<![\p{L}\p{N}_])`;

/**
 * Patterns in order of confidence. A bare "#123" only counts when no word stands right before
 * it, because "Order #123", "Invoice #55", "printer #3" and another system's "[GLPI #0000123]"
 * name numbers that are not ours; "Ticket #123" is covered by the ticket-word pattern.
 */
function defaultPatterns(ticketPrefix: string | undefined): { early: RegExp[]; late: RegExp[] } {
  const early = [new RegExp(String.raw`\[\s*#\s*${NUMBER}\s*\]`, 'giu')];
  if (ticketPrefix !== undefined && PREFIX_FORMAT.test(ticketPrefix)) {
    const prefix = `${NOT_AFTER_WORD}${ticketPrefix}`;
    early.unshift(new RegExp(String.raw`\[\s*${prefix}\s*(?:-|#|\s)\s*${NUMBER}\s*\]`, 'giu'));
    early.push(new RegExp(String.raw`${prefix}(?:-|\s?#)${NUMBER}`, 'giu'));
  }
  const late = [
    // "Ticket 123", "Ticket#123", "Ticket: 123", "Ticket #123", "Ticket-Nr. 123", "Supportticket 123".
    new RegExp(
      String.raw`ticket(?:\s*[-.]?\s*(?:nr|no|num|number|nummer|n°|id)(?!\p{L})\.?)?\s*[:#]?\s*#?\s*${NUMBER}`,
      'giu',
    ),
    new RegExp(String.raw`(?<![\p{L}\p{N}_]\s*|[\p{L}\p{N}_#&])#${NUMBER}`, 'giu'),
  ];
  return { early, late };
}

/** The configured patterns that compile; one saved before validation existed is skipped, not fatal. */
function extraPatterns(sources: string[]): SafeRegex[] {
  return sources.flatMap((source) => {
    try {
      return [SafeRegex.compile(source, { groups: 1 })];
    } catch (error) {
      if (error instanceof UnsafePatternError) return [];
      throw error;
    }
  });
}

/** The first capture group of every match. */
function* firstGroups(text: string, pattern: RegExp | SafeRegex): Generator<string | undefined> {
  if (pattern instanceof RegExp) for (const match of text.matchAll(pattern)) yield match[1];
  else for (const match of pattern.matchAll(text)) yield match.groups[0] ?? undefined;
}

/** Ticket number candidates in the subject, most confident first, without duplicates. */
export function findTicketNumbers(subject: string, options: TicketNumberOptions): number[] {
  const text = stripReplyPrefixes(subject.slice(0, MAX_SCANNED_LENGTH));
  const { early, late } = defaultPatterns(options.ticketPrefix);
  const patterns = [...early, ...extraPatterns(options.extraPatterns), ...late];
  const found: number[] = [];
  for (const pattern of patterns) {
    for (const group of firstGroups(text, pattern)) {
      const digits = group?.trim();
      if (digits === undefined || !DIGITS_ONLY.test(digits)) continue;
      const value = Number.parseInt(digits, 10);
      if (value > 0 && !found.includes(value)) found.push(value);
    }
  }
  return found;
}
