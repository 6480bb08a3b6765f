import type { AnyNode, ChildNode, Document, Element, ParentNode, Text } from 'domhandler';
import { DomUtils } from 'htmlparser2';
import type { ProcessingBudget } from './processingBudget.js';
import { collect, type HeaderRow } from './quoteLanguages.js';
import { escapeBareAddresses, parseHtml, textToHtml } from './safeHtml.js';

export interface ReplyInput {
  /** Plain text of the mail (from text/plain, or derived from the HTML). */
  text: string;
  /** HTML of the mail as sent, or null. */
  html: string | null;
  /** The helpdesk's reply separator line (R9); empty when none is configured. */
  separator: string;
}

export interface ReplyResult {
  /** The new text of the reply. May be empty when the mail held nothing but history. */
  replyText: string;
  /** The HTML with the history removed (still unsanitised), or null when the mail had no HTML. */
  replyHtml: string | null;
  /** The text that was removed, so callers can still show everything; null when nothing was. */
  cut: string | null;
}

/** One line of the mail as the analysis sees it, from plain text or from the HTML's text flow. */
interface Line {
  /** Text without quote markers. */
  content: string;
  /** Quote depth; 0 for the writer's own text. */
  depth: number;
  /** The quote block the line belongs to; null when not quoted. */
  block: number | null;
  /** Known to be an attribution from its markup (Thunderbird's moz-cite-prefix). */
  attribution?: boolean;
}

interface Analysis {
  /** Everything from this line down is history. */
  cutAt: number | null;
  /** Quote blocks that are history. */
  blocks: Set<number>;
  /** Single lines that are history (the attribution of a removed quote block). */
  lines: Set<number>;
}

// ---------------------------------------------------------------------------------------------
// Patterns
// ---------------------------------------------------------------------------------------------

// Runs of white space other than a lone space: replacing only those leaves prose mostly untouched.
const SPACES = /\s{2,}|[^\S ]/g;

function squash(value: string): string {
  return value.replace(SPACES, ' ').trim();
}

/** Whether the value has more than `max` characters besides white space; reads no further than needed. */
function longerThan(value: string, max: number): boolean {
  if (value.length <= max) return false;
  let count = 0;
  for (let i = 0; i < value.length; i++) {
    if (!/\s/.test(value[i] ?? '') && ++count > max) return true;
  }
  return false;
}

/** The line squashed, or null when it is too long to be any of the marker lines (saves copying prose). */
function markerText(value: string): string | null {
  return longerThan(value, MAX_MARKER_LINE) ? null : squash(value);
}

/** Regular-expression text that matches the value literally. */
function literal(value: string): string {
  return value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/ /g, '\\s+');
}

function anyOf(sources: string[], flags = 'iu'): RegExp {
  return new RegExp(sources.map((source) => `(?:${source})`).join('|'), flags);
}

/** "On … wrote:" in every language of the tables, matched on one squashed line. */
const ATTRIBUTION = anyOf(
  collect((language) => language.attributions.filter((row) => !row.named).map((row) => row.pattern)),
);
/** Clients that only name the writer ("John Doe <john@example.com> wrote:"). */
const NAMED_ATTRIBUTION = anyOf(
  collect((language) => language.attributions.filter((row) => row.named).map((row) => row.pattern)),
);
/** Every attribution ends in a colon; lines that do not are skipped before any pattern runs. */
const ENDS_IN_COLON = /[:：]$/;
const MAX_ATTRIBUTION = 400;
/** Longest line that can still be a marker (separator, "Original Message", underscores, forward). */
const MAX_MARKER_LINE = 2000;

const ORIGINAL_MESSAGE = new RegExp(
  `^[-_=*\\s]{2,}(?:${collect((language) => language.originalMessage.map((row) => literal(row.text))).join('|')})[-_=*\\s]{2,}$`,
  'iu',
);

const FORWARD_WORDS = collect((language) => language.forwarded.map((row) => literal(row.text))).join('|');
const FORWARD = `(?:[-_=*\\s]{2,}(?:${FORWARD_WORDS})[-_=*\\s]{2,}|(?:${FORWARD_WORDS}) ?:?)`;
const FORWARD_MARKER = new RegExp(`^${FORWARD}$`, 'iu');
const FORWARD_START = new RegExp(`^${FORWARD}`, 'iu');

function label(words: string[]): RegExp {
  return new RegExp(`^\\*?(?:${words.map(literal).join('|')})\\*?\\s*[:：]`, 'iu');
}
const headerWords = (pick: (row: HeaderRow) => string[]) =>
  collect((language) => language.headers.flatMap(pick));
const FROM_LABEL = label(headerWords((row) => row.from));
const SENT_LABEL = label(headerWords((row) => row.date));
const TO_LABEL = label(headerWords((row) => row.to));
const SUBJECT_WORDS = headerWords((row) => row.subject);
const SUBJECT_LABEL = label(SUBJECT_WORDS);
const FORWARD_SUBJECT = new RegExp(
  `^(?:${collect((language) => language.forwardPrefixes.map(literal)).join('|')})\\s*[:：]`,
  'iu',
);
const UNDERSCORES = /^_{10,}$/;

const WORD = /[\p{L}\p{N}]+/gu;

/** Lines longer than this are read word by word, so their first few words cost no copy of the whole. */
const WHOLE_LINE_WORDS = 1000;

/** The first `limit` words of a value, lower-cased; reading stops there, however long the value. */
function words(value: string, limit = Number.POSITIVE_INFINITY): string[] {
  if (value.length <= WHOLE_LINE_WORDS) {
    return (value.normalize('NFKC').toLowerCase().match(WORD) ?? []).slice(0, limit);
  }
  const found: string[] = [];
  for (const match of value.matchAll(WORD)) {
    if (found.length >= limit) break;
    found.push(...(match[0].normalize('NFKC').toLowerCase().match(WORD) ?? []));
  }
  return found.slice(0, limit);
}

// ---------------------------------------------------------------------------------------------
// Separator
// ---------------------------------------------------------------------------------------------

/**
 * Finds the helpdesk's separator line however a client mangled it: wrapped over up to three lines,
 * quoted, with its decoration runs shortened or lengthened and its case or spacing changed. Words
 * decide; a line with more than two other words is prose that happens to use them, not the separator.
 */
class SeparatorMatcher {
  private readonly words: string[];
  private readonly decoration: Set<string>;
  private readonly wordsByLine = new WeakMap<Line, string[]>();

  constructor(separator: string) {
    this.words = words(separator);
    this.decoration = new Set([...separator.replace(/\s+/g, '')]);
  }

  /** A line's first words, read once however many separator candidates the line belongs to. */
  private lineWords(line: Line): string[] {
    let found = this.wordsByLine.get(line);
    if (found === undefined) {
      // A line with more than two words besides the separator's is prose: no need to read further.
      found = words(line.content, this.words.length + 3);
      this.wordsByLine.set(line, found);
    }
    return found;
  }

  get configured(): boolean {
    return this.words.length > 0 || this.decoration.size > 0;
  }

  /** How many lines the separator starting at line `start` spans; 0 when it does not start there. */
  spanAt(lines: Line[], start: number): number {
    const first = lines[start];
    if (!first || first.content.trim() === '') return 0;
    if (this.words.length === 0) {
      const compact = first.content.replace(/\s+/g, '');
      return compact.length >= 5 && [...compact].every((char) => this.decoration.has(char)) ? 1 : 0;
    }
    const seen: string[] = [];
    const firstLineWords = this.lineWords(first).length;
    for (let end = start; end < Math.min(lines.length, start + 3); end++) {
      const line = lines[end];
      if (!line || line.block !== first.block) break;
      seen.push(...this.lineWords(line));
      if (seen.length > this.words.length + 2) break;
      const at = indexOfSequence(seen, this.words);
      if (at >= 0 && at < firstLineWords) return end - start + 1;
    }
    return 0;
  }
}

function indexOfSequence(haystack: string[], needle: string[]): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

// ---------------------------------------------------------------------------------------------
// Analysis shared by text and HTML
// ---------------------------------------------------------------------------------------------

function blank(line: Line | undefined): boolean {
  return line === undefined || line.content.trim() === '';
}

function matchesAttribution(text: string, named: boolean): boolean {
  if (text.length > MAX_ATTRIBUTION || !ENDS_IN_COLON.test(text)) return false;
  return ATTRIBUTION.test(text) || (named && NAMED_ATTRIBUTION.test(text));
}

function isAttribution(line: Line, named = true): boolean {
  if (line.attribution === true) return true;
  return !longerThan(line.content, MAX_ATTRIBUTION) && matchesAttribution(squash(line.content), named);
}

/** Number of lines (1 or 2) of an attribution starting at `index`, or 0. */
function attributionAt(lines: Line[], index: number): number {
  const line = lines[index];
  if (!line || blank(line)) return 0;
  if (isAttribution(line)) return 1;
  const next = lines[index + 1];
  if (!next || blank(next) || next.depth !== line.depth || isAttribution(next, false)) return 0;
  // A finished sentence is the writer's text, not the first half of a wrapped attribution.
  if (/[.!?]$/.test(line.content.trim())) return 0;
  // Gmail and mobile clients wrap a long attribution over two lines, often inside the address.
  const joined = `${line.content} ${next.content}`;
  if (longerThan(joined, MAX_ATTRIBUTION)) return 0;
  const squashed = squash(joined);
  if (matchesAttribution(squashed, false)) return 2;
  // A second line that names the writer on its own is found on its own, unless the first holds the address.
  if (isAttribution(next) && !/[@<]/.test(line.content)) return 0;
  return squashed.includes('@') && matchesAttribution(squashed, true) ? 2 : 0;
}

function nextNonBlank(lines: Line[], from: number): number | null {
  for (let i = from; i < lines.length; i++) if (!blank(lines[i])) return i;
  return null;
}

type HeaderField = 'from' | 'date' | 'to' | 'subject';

function headerField(content: string): HeaderField | null {
  if (FROM_LABEL.test(content)) return 'from';
  if (SENT_LABEL.test(content)) return 'date';
  if (TO_LABEL.test(content)) return 'to';
  if (SUBJECT_LABEL.test(content)) return 'subject';
  return null;
}

/** Lines a header block may span, wrapped recipient lists included. */
const HEADER_BLOCK_LINES = 10;

/**
 * An Outlook-style header block starting at `index`, its lines in any order (From / Sent / To / Subject
 * from Outlook, Date / Subject / From / To from Outlook.com), unless it heads a forward.
 */
function headerBlockAt(lines: Line[], index: number): boolean {
  const first = lines[index];
  if (!first || first.depth > 0 || headerField(first.content.trim()) === null) return false;
  const fields = new Set<HeaderField>();
  let forward = false;
  for (let i = index; i < Math.min(lines.length, index + HEADER_BLOCK_LINES); i++) {
    const content = (lines[i]?.content ?? '').trim();
    if (content.length > MAX_MARKER_LINE) continue;
    const field = headerField(content);
    if (field === null) continue;
    fields.add(field);
    if (field === 'subject') forward = FORWARD_SUBJECT.test(content.replace(SUBJECT_LABEL, '').trim());
  }
  return fields.has('from') && fields.has('date') && (fields.has('to') || fields.has('subject')) && !forward;
}

function analyze(lines: Line[], separator: SeparatorMatcher, budget?: ProcessingBudget): Analysis {
  let cutAt: number | null = null;
  for (let i = 0; i < lines.length && cutAt === null; i++) {
    budget?.check();
    const line = lines[i];
    if (!line || line.depth > 0 || blank(line)) continue;
    const content = markerText(line.content);
    if (content !== null && FORWARD_MARKER.test(content)) break;
    if (separator.configured && separator.spanAt(lines, i) > 0) cutAt = i;
    else if (content !== null && ORIGINAL_MESSAGE.test(content)) cutAt = i;
    else if (headerBlockAt(lines, i)) {
      const before = i > 0 ? markerText(lines[i - 1]?.content ?? '') : null;
      cutAt = before !== null && UNDERSCORES.test(before) ? i - 1 : i;
    } else if (line.content.trim() === '--') cutAt = i;
    else {
      const span = attributionAt(lines, i);
      if (span > 0) {
        const next = nextNonBlank(lines, i + span);
        // Followed by a quote: the quote logic below decides. Followed by plain text: that is history.
        if (next === null || (lines[next]?.depth ?? 0) === 0) cutAt = i;
        else i += span - 1;
      }
    }
  }

  const end = cutAt ?? lines.length;
  const ranges = new Map<number, { first: number; last: number }>();
  for (let i = 0; i < end; i++) {
    const block = lines[i]?.block;
    if (block === null || block === undefined) continue;
    const range = ranges.get(block);
    if (range) range.last = i;
    else ranges.set(block, { first: i, last: i });
  }
  const blocks = new Set<number>();
  const attributionLines = new Set<number>();
  const attributionBefore = (first: number): number | null => {
    let last = first - 1;
    while (last >= 0 && blank(lines[last])) last--;
    for (const start of [last - 1, last]) {
      if (start < 0 || lines[start]?.block !== null) continue;
      const span = attributionAt(lines, start);
      if (span > 0 && start + span - 1 === last) return start;
    }
    return null;
  };
  const remove = (block: number, first: number) => {
    blocks.add(block);
    const start = attributionBefore(first);
    for (let i = start ?? first; i < first; i++) attributionLines.add(i);
  };
  const entries = [...ranges.entries()];
  entries.forEach(([block, range], index) => {
    let holdsSeparator = false;
    for (let i = range.first; i <= range.last && separator.configured && !holdsSeparator; i++) {
      holdsSeparator = lines[i]?.block === block && separator.spanAt(lines, i) > 0;
    }
    const trailing = index === entries.length - 1 && isBlankRange(lines, range.last + 1, end);
    if (holdsSeparator || trailing) remove(block, range.first);
  });
  // A single quote with nothing but its attribution above it is a bottom-posted reply (Thunderbird).
  const only = entries.length === 1 ? entries[0] : undefined;
  if (only && !blocks.has(only[0])) {
    const [block, range] = only;
    if (isBlankRange(lines, 0, attributionBefore(range.first) ?? range.first)) remove(block, range.first);
  }
  return { cutAt, blocks, lines: attributionLines };
}

function isBlankRange(lines: Line[], from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (!blank(lines[i])) return false;
  return true;
}

// ---------------------------------------------------------------------------------------------
// Plain text
// ---------------------------------------------------------------------------------------------

const QUOTE_PREFIX = /^[ \t]{0,3}((?:>[ \t]?)+)/;

function textLines(text: string): Line[] {
  const lines: Line[] = text.split('\n').map((raw) => {
    const prefix = QUOTE_PREFIX.exec(raw);
    if (!prefix) return { content: raw, depth: 0, block: null };
    return {
      content: raw.slice(prefix[0].length),
      depth: (prefix[1]?.match(/>/g) ?? []).length,
      block: null,
    };
  });
  // Quoted lines separated by nothing but blank lines form one block, blank lines included.
  let blocks = 0;
  let open: number | null = null;
  let gap: Line[] = [];
  for (const line of lines) {
    if (line.depth > 0) {
      if (open === null) open = blocks++;
      for (const inner of gap) inner.block = open;
      gap = [];
      line.block = open;
    } else if (blank(line)) {
      gap.push(line);
    } else {
      open = null;
      gap = [];
    }
  }
  return lines;
}

function tidyText(lines: string[]): string {
  return lines
    .map((line) => line.trimEnd())
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

function extractText(
  text: string,
  separator: SeparatorMatcher,
  budget?: ProcessingBudget,
): { reply: string; cut: string | null } {
  const raw = text.replace(/\r\n?/g, '\n').split('\n');
  const lines = textLines(raw.join('\n'));
  const analysis = analyze(lines, separator, budget);
  const kept: string[] = [];
  const removed: string[] = [];
  raw.forEach((line, i) => {
    const block = lines[i]?.block;
    const history =
      (analysis.cutAt !== null && i >= analysis.cutAt) ||
      analysis.lines.has(i) ||
      (block !== null && block !== undefined && analysis.blocks.has(block));
    (history ? removed : kept).push(line);
  });
  const cut = tidyText(removed);
  return { reply: tidyText(kept), cut: cut === '' ? null : cut };
}

// ---------------------------------------------------------------------------------------------
// HTML
// ---------------------------------------------------------------------------------------------

interface FlowLine extends Line {
  nodes: Text[];
}

const SKIPPED = new Set(['head', 'style', 'script', 'title', 'template', 'xml', 'meta', 'link']);
const BLOCK_ELEMENTS = new Set([
  ...[
    'address',
    'article',
    'aside',
    'blockquote',
    'body',
    'caption',
    'center',
    'dd',
    'details',
    'dialog',
    'div',
  ],
  ...['dl', 'dt', 'fieldset', 'figcaption', 'figure', 'footer', 'form', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6'],
  ...['header', 'hr', 'html', 'li', 'main', 'nav', 'ol', 'p', 'pre', 'section', 'summary', 'table', 'tbody'],
  ...['td', 'tfoot', 'th', 'thead', 'tr', 'ul'],
]);

function classes(element: Element): string[] {
  return (element.attribs.class ?? '').split(/\s+/);
}

/** Whether a blockquote quotes; Gmail and Outlook also indent the writer's own text with a borderless one. */
function isQuote(element: Element): boolean {
  if (element.name !== 'blockquote') return false;
  if (element.attribs.type?.toLowerCase() === 'cite') return true;
  return !(element.attribs.style ?? '').toLowerCase().replace(/\s+/g, '').includes('border:none');
}

function flowLines(document: Document, budget?: ProcessingBudget): { lines: FlowLine[]; quotes: Element[] } {
  const lines: FlowLine[] = [];
  const quotes: Element[] = [];
  let current: FlowLine | null = null;
  const endLine = () => {
    current = null;
  };
  const walk = (nodes: AnyNode[], depth: number, block: number | null, attribution: boolean) => {
    for (const node of nodes) {
      if (DomUtils.isText(node)) {
        const text = node.data.replace(SPACES, ' ');
        if (current === null) {
          if (text.trim() === '') continue;
          current = { content: '', depth, block, nodes: [], ...(attribution ? { attribution } : {}) };
          lines.push(current);
        }
        const line: FlowLine = current;
        line.content += text;
        if (text.trim() !== '') line.nodes.push(node);
        continue;
      }
      if (!DomUtils.isTag(node)) continue;
      budget?.check();
      const name = node.name.toLowerCase();
      if (SKIPPED.has(name)) continue;
      if (name === 'br') {
        endLine();
        continue;
      }
      const isBlock = BLOCK_ELEMENTS.has(name);
      if (isBlock) endLine();
      if (isQuote(node)) {
        const id = block ?? quotes.push(node) - 1;
        walk(node.children, depth + 1, id, false);
      } else {
        walk(node.children, depth, block, attribution || classes(node).includes('moz-cite-prefix'));
      }
      if (isBlock) endLine();
    }
  };
  walk(document.children, 0, null, false);
  return { lines, quotes };
}

/** Removes `node` and everything after it in document order: one cut per ancestor's list of children. */
function truncateFrom(node: AnyNode): void {
  let from: AnyNode | null = node;
  let parent = node.parent;
  while (parent) {
    const at = from ? parent.children.indexOf(from as ChildNode) : -1;
    if (at >= 0) {
      for (const removed of parent.children.splice(at)) removed.parent = removed.prev = removed.next = null;
      const last = parent.children.at(-1);
      if (last) last.next = null;
    }
    if (parent.type === 'root') return;
    from = parent.next;
    parent = parent.parent;
  }
}

/**
 * Removes many nodes with one pass over each affected list of children; removing them one by one
 * would search and shift a long list of siblings once per node.
 */
function removeAll(nodes: Iterable<AnyNode>): void {
  const byParent = new Map<ParentNode, Set<AnyNode>>();
  for (const node of nodes) {
    if (!node.parent) continue;
    const set = byParent.get(node.parent) ?? new Set<AnyNode>();
    set.add(node);
    byParent.set(node.parent, set);
  }
  for (const [parent, removed] of byParent) {
    parent.children = parent.children.filter((child) => !removed.has(child));
    parent.children.forEach((child, i) => {
      child.prev = parent.children[i - 1] ?? null;
      child.next = parent.children[i + 1] ?? null;
    });
    for (const node of removed) node.parent = node.prev = node.next = null;
  }
}

const FORWARD_SUBJECT_LABEL = new RegExp(
  `(?:${SUBJECT_WORDS.map(literal).join('|')})\\s*[:：]\\s*(\\S+\\s*[:：])`,
  'giu',
);
/** Enough of an element's text for the labels and markers that must open it. */
const OPENING_LENGTH = 1000;

/**
 * The document's text in one string, white space squashed, with each element's span in it. What the
 * marker and container checks need of an element's text (how it opens, its first Subject label) is
 * read from here, so an element nested in a thousand others is not read a thousand times over.
 */
class TextIndex {
  private readonly text: string;
  private readonly spans = new Map<Element, { start: number; end: number }>();
  /** Elements with a blockquote inside. */
  private readonly quoting = new Set<Element>();
  /** Every Subject label in the text: where it starts and ends, and whether a forward marker follows. */
  private readonly subjects: Array<{ start: number; end: number; forward: boolean }> = [];

  constructor(document: Document, budget?: ProcessingBudget) {
    const parts: string[] = [];
    let length = 0;
    let endsInSpace = true;
    const walk = (nodes: AnyNode[], parent: Element | null): void => {
      for (const node of nodes) {
        if (DomUtils.isText(node)) {
          let text = node.data.replace(SPACES, ' ');
          if (endsInSpace && text.startsWith(' ')) text = text.slice(1);
          if (text === '') continue;
          parts.push(text);
          length += text.length;
          endsInSpace = text.endsWith(' ');
        } else if (DomUtils.isTag(node)) {
          budget?.check();
          const start = length;
          walk(node.children, node);
          this.spans.set(node, { start, end: length });
          if (parent && (node.name === 'blockquote' || this.quoting.has(node))) this.quoting.add(parent);
        }
      }
    };
    walk(document.children, null);
    this.text = parts.join('');
    for (const match of this.text.matchAll(FORWARD_SUBJECT_LABEL)) {
      budget?.check();
      this.subjects.push({
        start: match.index,
        end: match.index + match[0].length,
        forward: FORWARD_SUBJECT.test(match[1] ?? ''),
      });
    }
  }

  /** The start of the element's squashed text, at most OPENING_LENGTH characters. */
  opening(element: Element): string {
    const span = this.spans.get(element);
    if (!span) return '';
    return this.text.slice(span.start, Math.min(span.end, span.start + OPENING_LENGTH + 1)).trim();
  }

  /** Whether the first Subject label in the element's text names a forward ("Subject: Fwd: …"). */
  subjectIsForward(element: Element): boolean {
    const span = this.spans.get(element);
    if (!span) return false;
    let low = 0;
    let high = this.subjects.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if ((this.subjects[middle]?.start ?? 0) < span.start) low = middle + 1;
      else high = middle;
    }
    const first = this.subjects[low];
    return first !== undefined && first.end <= span.end && first.forward;
  }

  holdsQuote(element: Element): boolean {
    return this.quoting.has(element);
  }
}

function isForwardContainer(element: Element, index: TextIndex): boolean {
  return FORWARD_START.test(index.opening(element)) || index.subjectIsForward(element);
}

function isHistoryMarker(element: Element, index: TextIndex): boolean {
  const id = element.attribs.id ?? '';
  if (id === 'divRplyFwdMsg' || id === 'appendonsend' || (element.name === 'hr' && id === 'zwchr'))
    return true;
  if (classes(element).includes('OutlookMessageHeader')) return true;
  const style = (element.attribs.style ?? '').toLowerCase().replace(/\s+/g, '');
  // Outlook desktop: <div style="border:none;border-top:solid #E1E1E1 1.0pt;…"><p><b>From:</b> …
  return (
    element.name === 'div' && /border-top:solid/.test(style) && headerField(index.opening(element)) !== null
  );
}

function extractHtml(document: Document, separator: SeparatorMatcher, budget?: ProcessingBudget): string {
  const before = new TextIndex(document, budget);
  const containers = DomUtils.findAll((element) => {
    const list = classes(element);
    // Gmail wraps forwards in gmail_quote too, but only replies quote in a blockquote.
    const gmailReply =
      list.includes('gmail_quote') && (element.name === 'blockquote' || before.holdsQuote(element));
    return (
      gmailReply ||
      list.includes('yahoo_quoted') ||
      list.includes('protonmail_quote') ||
      (element.attribs.id ?? '').startsWith('yahoo_quoted')
    );
  }, document.children);
  const history = containers.filter((container) => !isForwardContainer(container, before));
  removeAll(history);

  // Read again when containers went: their text no longer counts.
  const after = history.length > 0 ? new TextIndex(document, budget) : before;
  const marker = DomUtils.findAll((element) => isHistoryMarker(element, after), document.children).find(
    (element) => !isForwardContainer(element, after),
  );
  if (marker) {
    let from: AnyNode = marker;
    let previous = marker.prev;
    while (previous && DomUtils.isText(previous) && previous.data.trim() === '') previous = previous.prev;
    if (previous && DomUtils.isTag(previous) && previous.name === 'hr') from = previous;
    truncateFrom(from);
  }

  const { lines, quotes } = flowLines(document, budget);
  const analysis = analyze(lines, separator, budget);
  const cutNode = analysis.cutAt === null ? undefined : lines[analysis.cutAt]?.nodes[0];
  const removed: AnyNode[] = [];
  for (const block of analysis.blocks) {
    const element = quotes[block];
    if (element) removed.push(element);
  }
  for (const index of analysis.lines) removed.push(...(lines[index]?.nodes ?? []));
  removeAll(removed);
  if (cutNode?.parent) truncateFrom(cutNode);
  return DomUtils.getOuterHTML(document, { encodeEntities: 'utf8' });
}

/**
 * The new text of a reply (R9): everything from the helpdesk's separator line down is dropped, and
 * so is quoted history — attributions ("On … wrote:" in every language of quoteLanguages.ts),
 * Outlook header blocks in any order of their lines, "Original Message" markers, trailing (or, for
 * bottom-posted replies, leading) "> " quotes, the signature after "-- ", and the quote containers of Gmail, Outlook, Apple Mail, Thunderbird,
 * Yahoo and Proton in HTML. A quoted separator removes the quote that holds it, not the text after
 * that quote. Forwarded messages are content, not history, and stay.
 */
export function extractReply(input: ReplyInput, budget?: ProcessingBudget): ReplyResult {
  const separator = new SeparatorMatcher(input.separator);
  const { reply, cut } = extractText(input.text, separator, budget);
  let replyHtml: string | null = null;
  if (input.html !== null) {
    // Markup nested absurdly deep cannot be walked safely; the text reply stands in for it.
    const document = parseHtml(escapeBareAddresses(input.html), budget);
    replyHtml = document === null ? textToHtml(reply) : extractHtml(document, separator, budget);
  }
  return { replyText: reply, replyHtml, cut };
}
