import { type AnyNode, type Document, DomHandler, type Element } from 'domhandler';
import { DomUtils, Parser } from 'htmlparser2';
import sanitizeHtml from 'sanitize-html';
import type { ProcessingBudget } from './processingBudget.js';

export interface SafeHtmlInput {
  /** The mail's HTML as sent (unsanitised), or null for a plain-text mail. */
  html: string | null;
  /** The plain text, used when there is no HTML. */
  text: string;
  /** Whether http(s) images hosted elsewhere may load (they leak that the mail was read). */
  allowExternalImages: boolean;
  /** URL of a stored inline image for a Content-ID (without brackets), or null when there is none. */
  imageUrlForContentId: (cid: string) => string | null;
  /** Checked at every element, so hostile markup cannot hold the worker past the mail's budget. */
  budget?: ProcessingBudget;
}

const LINK_REL = 'noopener noreferrer nofollow';

const ALLOWED_TAGS = (
  'a abbr address b bdi bdo big blockquote br caption center cite code col colgroup dd del dfn div dl dt em ' +
  'figcaption figure font h1 h2 h3 h4 h5 h6 hr i img ins kbd li mark ol p pre q s samp small span strike strong ' +
  'sub sup table tbody td tfoot th thead tr tt u ul wbr'
).split(' ');

// Elements whose content is not mail text: dropped with everything inside, not unwrapped.
const DROPPED_WITH_CONTENT = (
  'script style textarea option select xmp noscript noembed noframes title template iframe frame frameset ' +
  'object applet svg math plaintext xml button'
).split(' ');

const CELL = ['colspan', 'rowspan', 'valign', 'width', 'height', 'bgcolor', 'nowrap'];

const ALLOWED_ATTRIBUTES: Record<string, string[]> = {
  '*': ['style', 'dir', 'lang', 'title', 'align'],
  a: ['href', 'rel', 'target'],
  img: ['src', 'alt', 'width', 'height'],
  table: ['border', 'cellpadding', 'cellspacing', 'width', 'bgcolor'],
  td: CELL,
  th: CELL,
  col: ['span', 'width'],
  colgroup: ['span', 'width'],
  ol: ['start', 'type', 'reversed'],
  ul: ['type'],
  li: ['value'],
  font: ['color', 'size', 'face'],
};

const COLOR = /^(?:#[0-9a-f]{3,8}|rgba?\(\s*[\d.%]+\s*(?:,\s*[\d.%]+\s*){2,3}\)|[a-z]{3,20})$/i;
// Every pattern below matches one way only, so hostile values cannot make it backtrack.
const NUMBER = '-?(?:\\d+(?:\\.\\d+)?|\\.\\d+)';
const SIZE = `(?:${NUMBER}(?:px|pt|em|rem|%|cm|mm|in)?|auto)`;
const LENGTH = new RegExp(`^${SIZE}$`, 'i');
const LENGTHS = new RegExp(`^${SIZE}(?:\\s+${SIZE}){0,3}$`, 'i');
const BORDER = new RegExp(
  `^(?:${NUMBER}(?:px|pt|em)?\\s+)?(?:none|solid|dashed|dotted|double)(?:\\s+(?:#[0-9a-f]{3,8}|[a-z]{3,20}))?$`,
  'i',
);

// Only properties that cannot load anything or cover the page: no url(), expression(), position, behavior.
const ALLOWED_STYLES: Record<string, RegExp[]> = {
  color: [COLOR],
  'background-color': [COLOR],
  'font-weight': [/^(?:normal|bold|bolder|lighter|[1-9]00)$/i],
  'font-style': [/^(?:normal|italic|oblique)$/i],
  'font-size': [LENGTH, /^(?:xx-small|x-small|small|medium|large|x-large|xx-large|smaller|larger)$/i],
  'font-family': [/^[\w\s,'"-]{1,200}$/],
  'text-decoration': [
    /^(?:none|underline|overline|line-through)(?:\s+(?:underline|overline|line-through))*$/i,
  ],
  'text-align': [/^(?:left|right|center|justify|start|end)$/i],
  'vertical-align': [/^(?:baseline|top|middle|bottom|sub|super|text-top|text-bottom)$/i],
  'white-space': [/^(?:normal|nowrap|pre|pre-wrap|pre-line)$/i],
  'list-style-type': [/^[a-z-]{1,30}$/i],
  'border-collapse': [/^(?:collapse|separate)$/i],
  margin: [LENGTHS],
  'margin-left': [LENGTH],
  'margin-right': [LENGTH],
  'margin-top': [LENGTH],
  'margin-bottom': [LENGTH],
  padding: [LENGTHS],
  'padding-left': [LENGTH],
  'padding-right': [LENGTH],
  'padding-top': [LENGTH],
  'padding-bottom': [LENGTH],
  border: [BORDER],
  'border-top': [BORDER],
  'border-bottom': [BORDER],
  'border-left': [BORDER],
  'border-right': [BORDER],
};

/** The URL without white space and control characters, as browsers read it. */
function compactUrl(value: string): string {
  return value.replace(/[\p{Cc}\s]+/gu, '');
}

function safeLinkTarget(href: string | undefined): string | null {
  if (href === undefined) return null;
  return /^(?:https?:\/\/|mailto:)/i.test(compactUrl(href)) ? href.trim() : null;
}

function contentIdOf(src: string): string {
  const raw = src.trim().slice(4).replace(/^<|>$/g, '');
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

function sanitizeOptions(input: SafeHtmlInput): sanitizeHtml.IOptions {
  return {
    allowedTags: ALLOWED_TAGS,
    allowedAttributes: ALLOWED_ATTRIBUTES,
    allowedSchemes: ['http', 'https', 'mailto'],
    allowedSchemesByTag: { img: ['http', 'https'] },
    allowedSchemesAppliedToAttributes: ['href', 'src', 'cite'],
    allowProtocolRelative: false,
    allowedStyles: { '*': ALLOWED_STYLES },
    disallowedTagsMode: 'discard',
    nonTextTags: DROPPED_WITH_CONTENT,
    transformTags: {
      a: (tagName, attribs) => {
        const { href, ...rest } = attribs;
        const target = safeLinkTarget(href);
        return {
          tagName,
          attribs: { ...(target === null ? {} : { href: target }), ...rest, rel: LINK_REL, target: '_blank' },
        };
      },
      img: (tagName, attribs) => {
        const { src = '', ...rest } = attribs;
        const compact = compactUrl(src);
        let url: string | null = null;
        if (/^cid:/i.test(compact)) url = input.imageUrlForContentId(contentIdOf(compact));
        else if (input.allowExternalImages && /^https?:\/\//i.test(compact)) url = src.trim();
        // An image whose source was refused is removed rather than left as a broken frame: renamed to a
        // tag that is not allowed. (An exclusiveFilter would cut the output string once per image.)
        return url === null
          ? { tagName: REFUSED_IMAGE, attribs: {} }
          : { tagName, attribs: { ...rest, src: url } };
      },
    },
    // Input deeper than this never gets here (parseHtml); should the sanitiser's parser ever read it
    // deeper than ours did, it drops the extra levels and keeps their text.
    nestingLimit: MAX_HTML_DEPTH,
    onOpenTag: () => input.budget?.check(),
  };
}

const REFUSED_IMAGE = 'refused-image';

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (char) => HTML_ESCAPES[char] ?? char);
}

const URL_TOKEN = /^(?:https?:\/\/|www\.)[^\s<>"'`]+$/i;
const EMAIL_TOKEN = /^[\p{L}\p{N}._%+-]+@[\p{L}\p{N}-]+(?:\.[\p{L}\p{N}-]+)+$/u;
/** Longer words are never links; it also keeps the work per word bounded on hostile input. */
const MAX_LINK_LENGTH = 2048;

function count(value: string, char: string): number {
  let n = 0;
  for (const c of value) if (c === char) n++;
  return n;
}

function linkifyWord(word: string): string {
  if (word.length > MAX_LINK_LENGTH) return escapeHtml(word);
  let start = 0;
  while (start < word.length && '(<["\''.includes(word[start] ?? '')) start++;
  let end = word.length;
  const open = count(word.slice(start), '(');
  let close = count(word.slice(start), ')');
  // Sentence punctuation after a link is not part of it; a closing bracket only when unbalanced.
  while (end > start && '.,;:!?\'")]}>'.includes(word[end - 1] ?? '')) {
    if (word[end - 1] === ')') {
      if (open >= close) break;
      close--;
    }
    end--;
  }
  const core = word.slice(start, end);
  let href: string | null = null;
  if (URL_TOKEN.test(core)) href = /^www\./i.test(core) ? `https://${core}` : core;
  else if (EMAIL_TOKEN.test(core)) href = `mailto:${core}`;
  if (href === null) return escapeHtml(word);
  const anchor = `<a href="${escapeHtml(href)}" rel="${LINK_REL}" target="_blank">${escapeHtml(core)}</a>`;
  return escapeHtml(word.slice(0, start)) + anchor + escapeHtml(word.slice(end));
}

function linkify(line: string): string {
  return line
    .split(/(\s+)/)
    .map((part, index) => (index % 2 === 1 ? escapeHtml(part) : linkifyWord(part)))
    .join('');
}

/** Plain text as HTML: escaped, blank lines become paragraphs, line breaks <br>, URLs and addresses links. */
export function textToHtml(text: string): string {
  return text
    .replace(/\r\n?/g, '\n')
    .split(/\n[ \t]*\n\s*/)
    .filter((paragraph) => paragraph.trim() !== '')
    .map((paragraph) => `<p>${paragraph.trim().split('\n').map(linkify).join('<br>\n')}</p>`)
    .join('\n');
}

/**
 * Writes `<https://…>` and `<name@example.com>` typed into HTML as text. Mail clients that put a bare
 * link or address in angle brackets produce markup a parser reads as an unknown element and hides.
 */
export function escapeBareAddresses(html: string): string {
  return html.replace(/<((?:https?|mailto):[^\s<>"']+|[^\s<>"'/=@]+@[^\s<>"'/=]+)>/gi, '&lt;$1&gt;');
}

/** Deeper markup is not real mail; walking it would cost the stack. */
export const MAX_HTML_DEPTH = 500;

/** Thrown inside the parser to stop it at the first element nested too deep. */
class NestedTooDeep extends Error {}

/** The tree builder, refusing to nest deeper than MAX_HTML_DEPTH and checking the budget per element. */
class MeasuringHandler extends DomHandler {
  private readonly budget: ProcessingBudget | undefined;

  constructor(budget: ProcessingBudget | undefined) {
    super(null, {});
    this.budget = budget;
  }

  override onopentag(name: string, attribs: Record<string, string>): void {
    super.onopentag(name, attribs);
    // The stack holds the document itself below the open elements.
    if (this.tagStack.length - 1 > MAX_HTML_DEPTH) throw new NestedTooDeep();
    this.budget?.check();
  }
}

/**
 * The DOM of the HTML, or null when elements nest deeper than MAX_HTML_DEPTH. The depth is read from
 * the tree builder's own stack of open elements, so the guard sees exactly the tree that would be
 * walked (an empty comment `<!-->`, implied end tags and unclosed elements included). Parsing stops at
 * the first element nested too deep: the parser's own bookkeeping grows with the nesting, so it must
 * never see absurdly deep markup whole.
 */
export function parseHtml(html: string, budget?: ProcessingBudget): Document | null {
  const handler = new MeasuringHandler(budget);
  try {
    new Parser(handler, { decodeEntities: true }).end(html);
  } catch (error) {
    if (error instanceof NestedTooDeep) return null;
    throw error;
  }
  return handler.root;
}

/**
 * Whether elements nest deeper than MAX_HTML_DEPTH, counted from the parser's own open and close
 * events (those the tree builder follows), without building the tree.
 */
export function htmlTooDeep(html: string, budget?: ProcessingBudget): boolean {
  let depth = 0;
  const parser = new Parser(
    {
      onopentag: () => {
        if (++depth > MAX_HTML_DEPTH) throw new NestedTooDeep();
        budget?.check();
      },
      onclosetag: () => {
        depth--;
      },
    },
    { decodeEntities: true },
  );
  try {
    parser.end(html);
  } catch (error) {
    if (error instanceof NestedTooDeep) return true;
    throw error;
  }
  return false;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

/**
 * Text of markup too deep to parse: tags dropped, common entities decoded, white space collapsed. Only
 * ever shown as escaped text, so reading a tag differently from a browser cannot let markup through.
 */
function flattenMarkup(html: string): string {
  return html
    .replace(/<[^<>]*>/g, ' ')
    .replace(/&(#x[0-9a-f]{1,6}|#\d{1,7}|[a-z]+);/gi, (entity, code: string) => {
      const lower = code.toLowerCase();
      if (lower.startsWith('#')) {
        const point = lower.startsWith('#x')
          ? Number.parseInt(lower.slice(2), 16)
          : Number.parseInt(lower.slice(1), 10);
        return point > 0 && point <= 0x10ffff ? String.fromCodePoint(point) : entity;
      }
      return ENTITIES[lower] ?? entity;
    })
    .replace(/\s+/g, ' ')
    .trim();
}

/**
 * HTML that is safe to show inside the product: an allowlist of formatting elements, links limited
 * to http(s)/mailto and opening in a new tab without referrer, images only from the mail itself
 * (cid:, rewritten to stored copies) or, when allowed, from http(s), a few inline styles with plain
 * values, and nothing that runs, loads, submits or embeds. Plain-text mail becomes escaped HTML.
 */
export function toSafeHtml(input: SafeHtmlInput): string {
  let source: string;
  if (input.html === null || input.html.trim() === '') source = textToHtml(input.text);
  else {
    const html = escapeBareAddresses(input.html);
    source = htmlTooDeep(html, input.budget) ? textToHtml(flattenMarkup(html)) : html;
  }
  return sanitizeHtml(source, sanitizeOptions(input)).trim();
}

// ---------------------------------------------------------------------------------------------
// HTML to plain text
// ---------------------------------------------------------------------------------------------

const SKIPPED = new Set('head style script title template xml meta link svg math'.split(' '));
const PARAGRAPHS = new Set(['p', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'table', 'ul', 'ol', 'dl', 'pre', 'hr']);
const BLOCKS = new Set(
  (
    'address article aside body caption center dd details div dt fieldset figcaption figure footer form header ' +
    'html li main nav section summary tr'
  ).split(' '),
);

/** Longest link text compared with its target; longer text is prose that does not spell the link out. */
const MAX_LINK_TEXT = 4096;

/** White space runs other than a lone space (the same result as /\s+/ → ' ', with far fewer matches). */
const SPACE_RUNS = /\s{2,}|[^\S ]/g;

interface TextLine {
  text: string;
  depth: number;
}

/**
 * Plain text written in one pass, whatever the nesting: each line is stored once with its quote depth
 * and quoted ("> ") only when the text is put together, so nested quotes cost no re-reading.
 */
class TextWriter {
  private readonly lines: TextLine[] = [];
  private current: string[] = [];
  private depth = 0;
  /** Line breaks wanted before the next text: 1 a new line, 2 an empty line. */
  private breaks = 0;
  /** A list item's marker, written before its first text. */
  private marker: string | null = null;
  /** The most recent text, for comparing a link's text with its target. */
  private recent = '';
  private written = 0;

  get position(): number {
    return this.written;
  }

  /** The text written since `position`, or null when it is longer than MAX_LINK_TEXT. */
  since(position: number): string | null {
    const length = this.written - position;
    return length > MAX_LINK_TEXT ? null : this.recent.slice(this.recent.length - length);
  }

  text(value: string, preformatted: boolean): void {
    if (!preformatted) {
      let text = value.replace(SPACE_RUNS, ' ');
      if (this.current.length === 0 && this.marker === null) text = text.replace(/^ /, '');
      if (text !== '') this.write(text);
      return;
    }
    value.split('\n').forEach((segment, index) => {
      if (index > 0) this.lineBreak();
      if (segment !== '') this.write(segment.replace(/\u00a0/g, ' '));
    });
  }

  /** A line break from the markup (br, a new line in pre): kept even when the line is empty. */
  lineBreak(): void {
    this.flushBreaks();
    this.endLine();
  }

  /** Block boundaries: at least `count` line breaks before the next text, never at the very start. */
  block(count: 1 | 2): void {
    if (this.marker === null) this.breaks = Math.max(this.breaks, count);
  }

  listItem(): void {
    this.block(1);
    this.marker = '- ';
  }

  endListItem(): void {
    if (this.marker !== null) this.write('');
    this.block(1);
  }

  quote(change: 1 | -1): void {
    this.block(2);
    this.depth += change;
  }

  raw(value: string): void {
    this.current.push(value);
    this.remember(value);
  }

  toString(): string {
    this.endLine();
    const out: string[] = [];
    let blank: number | null = null;
    let previousDepth = 0;
    for (const line of this.lines) {
      const text = line.text.replace(/^ /, '').trimEnd();
      if (text === '') {
        blank = Math.min(blank ?? line.depth, line.depth);
        continue;
      }
      // Empty lines collapse to one, quoted only as deep as the text on both sides of it.
      if (blank !== null && out.length > 0) {
        const depth = Math.min(blank, line.depth, previousDepth);
        out.push(depth === 0 ? '' : `>${' >'.repeat(depth - 1)}`);
      }
      blank = null;
      previousDepth = line.depth;
      out.push(`${'> '.repeat(line.depth)}${text}`);
    }
    return out.join('\n');
  }

  private write(text: string): void {
    this.flushBreaks();
    if (this.marker !== null) {
      this.current.push(this.marker);
      this.remember(this.marker);
      this.marker = null;
      text = text.replace(/^ /, '');
    }
    this.current.push(text);
    this.remember(text);
  }

  private flushBreaks(): void {
    if (this.breaks === 0) return;
    const wanted = this.breaks;
    this.breaks = 0;
    if (this.current.length > 0) this.endLine();
    if (wanted === 2 && this.lines.length > 0) this.lines.push({ text: '', depth: this.depth });
  }

  private endLine(): void {
    this.lines.push({ text: this.current.join(''), depth: this.depth });
    this.current = [];
    this.remember('\n');
  }

  private remember(text: string): void {
    this.written += text.length;
    this.recent += text;
    if (this.recent.length > 2 * MAX_LINK_TEXT) this.recent = this.recent.slice(-MAX_LINK_TEXT);
  }
}

function convert(nodes: AnyNode[], out: TextWriter, preformatted: boolean, budget?: ProcessingBudget): void {
  for (const node of nodes) {
    if (DomUtils.isText(node)) out.text(node.data, preformatted);
    else if (DomUtils.isTag(node)) convertElement(node, out, preformatted, budget);
  }
}

function convertElement(
  element: Element,
  out: TextWriter,
  preformatted: boolean,
  budget?: ProcessingBudget,
): void {
  budget?.check();
  const name = element.name.toLowerCase();
  if (SKIPPED.has(name)) return;
  if (name === 'br') {
    out.lineBreak();
    return;
  }
  const inner = () => convert(element.children, out, preformatted || name === 'pre', budget);
  if (name === 'blockquote') {
    out.quote(1);
    inner();
    out.quote(-1);
  } else if (name === 'a') {
    const start = out.position;
    inner();
    const href = element.attribs.href?.trim() ?? '';
    const text = out.since(start)?.trim();
    if (/^https?:\/\//i.test(href) && href.length <= MAX_LINK_TEXT && text !== '' && !text?.includes(href)) {
      out.raw(` <${href}>`);
    }
  } else if (name === 'td' || name === 'th') {
    inner();
    out.raw(' ');
  } else if (name === 'li') {
    out.listItem();
    inner();
    out.endListItem();
  } else if (PARAGRAPHS.has(name) || BLOCKS.has(name)) {
    const breaks = PARAGRAPHS.has(name) ? 2 : 1;
    out.block(breaks);
    inner();
    out.block(breaks);
  } else {
    inner();
  }
}

/**
 * Readable plain text from HTML: blocks on their own lines, quotes prefixed with "> ", link targets kept.
 * One pass over the document, so its cost grows with the size of the mail, not with its nesting.
 */
export function htmlToText(html: string, budget?: ProcessingBudget): string {
  const document = parseHtml(escapeBareAddresses(html), budget);
  if (document === null) return flattenMarkup(html);
  const out = new TextWriter();
  convert(document.children, out, false, budget);
  return out.toString();
}
