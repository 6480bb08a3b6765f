import type { AnyNode, Element } from 'domhandler';
import { DomUtils, parseDocument } from 'htmlparser2';
import sanitizeHtml from 'sanitize-html';

export interface SafeHtmlInput {
  /** The mail's HTML as sent (unsanitised), or null for a plain-text mail. */
  html: string | null;
  /** The plain text, used when there is no HTML. */
  text: string;
  /** Whether http(s) images hosted elsewhere may load (they leak that the mail was read). */
  allowExternalImages: boolean;
  /** URL of a stored inline image for a Content-ID (without brackets), or null when there is none. */
  imageUrlForContentId: (cid: string) => string | null;
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
        return { tagName, attribs: url === null ? rest : { ...rest, src: url } };
      },
    },
    // An image whose source was refused is removed rather than left as a broken frame.
    exclusiveFilter: (frame) => frame.tag === 'img' && !frame.attribs.src,
  };
}

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

const VOID_ELEMENTS = new Set(
  'area base br col embed hr img input link meta param source track wbr'.split(' '),
);
// Closed implicitly by their next sibling, so a run of them does not nest.
const IMPLIED_END = new Set('p li dt dd option optgroup tr td th thead tbody tfoot rt rp'.split(' '));
/** Deeper markup is not real mail; parsing and walking it would cost quadratic time or the stack. */
export const MAX_HTML_DEPTH = 500;

/** Whether elements nest deeper than `max`, by a linear scan of the tags (no DOM). */
export function htmlTooDeep(html: string, max = MAX_HTML_DEPTH): boolean {
  let depth = 0;
  let at = html.indexOf('<');
  while (at >= 0) {
    if (html.startsWith('!--', at + 1)) {
      const close = html.indexOf('-->', at + 4);
      if (close < 0) return false;
      at = html.indexOf('<', close + 3);
      continue;
    }
    const closing = html[at + 1] === '/';
    const name = /^[a-z][\w:-]*/i.exec(html.slice(at + (closing ? 2 : 1), at + 64))?.[0].toLowerCase();
    const end = html.indexOf('>', at);
    if (end < 0) return false;
    if (name && !VOID_ELEMENTS.has(name) && !IMPLIED_END.has(name)) {
      if (closing) depth = Math.max(0, depth - 1);
      else if (++depth > max) return true;
    }
    at = html.indexOf('<', name ? end + 1 : at + 1);
  }
  return false;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

/** Text of markup too deep to parse: tags dropped, common entities decoded, white space collapsed. */
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
  let source = textToHtml(input.text);
  if (input.html !== null && input.html.trim() !== '') {
    source = htmlTooDeep(input.html)
      ? textToHtml(flattenMarkup(input.html))
      : escapeBareAddresses(input.html);
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

/** Tidies converted text: no trailing blanks, at most one empty line in a row. */
function tidy(text: string): string {
  return text
    .split('\n')
    .map((line) => line.replace(/^ /, '').trimEnd())
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

function convert(nodes: AnyNode[], preformatted: boolean): string {
  let out = '';
  for (const node of nodes) {
    if (DomUtils.isText(node)) {
      out += preformatted ? node.data : node.data.replace(/\s+/g, ' ');
    } else if (DomUtils.isTag(node)) {
      out += convertElement(node, preformatted);
    }
  }
  return out;
}

function convertElement(element: Element, preformatted: boolean): string {
  const name = element.name.toLowerCase();
  if (SKIPPED.has(name)) return '';
  if (name === 'br') return '\n';
  const inner = convert(element.children, preformatted || name === 'pre');
  if (name === 'blockquote') {
    const quoted = tidy(inner)
      .split('\n')
      .map((line) => (line === '' ? '>' : `> ${line}`))
      .join('\n');
    return `\n\n${quoted}\n\n`;
  }
  if (name === 'a') {
    const href = element.attribs.href?.trim() ?? '';
    const text = inner.trim();
    return /^https?:\/\//i.test(href) && text !== '' && !text.includes(href) ? `${inner} <${href}>` : inner;
  }
  if (name === 'td' || name === 'th') return `${inner} `;
  if (name === 'li') return `\n- ${inner.trim()}\n`;
  if (PARAGRAPHS.has(name)) return `\n\n${inner}\n\n`;
  if (BLOCKS.has(name)) return `\n${inner}\n`;
  return inner;
}

/** Readable plain text from HTML: blocks on their own lines, quotes prefixed with "> ", link targets kept. */
export function htmlToText(html: string): string {
  if (htmlTooDeep(html)) return flattenMarkup(html);
  const document = parseDocument(escapeBareAddresses(html), { decodeEntities: true });
  return tidy(convert(document.children, false).replace(/\u00a0/g, ' '));
}
