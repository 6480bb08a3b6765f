import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { addAbortSignal, PassThrough, Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import iconv from 'iconv-lite';
import {
  type AttachmentStream,
  type EmailAddress,
  type HeaderLines,
  type Headers,
  MailParser,
  type MessageText,
  parseAddressHeader,
  type StructuredHeader,
} from 'mailparser';
import { detectFileType, detectImageType, IMAGE_SNIFF_BYTES, type ImageType } from './images.js';
import type { MailAddress, ParsedAttachment, ParsedMail } from './parsedMail.js';
import { type ProcessingBudget, ProcessingTimeExceeded } from './processingBudget.js';
import { htmlToText } from './safeHtml.js';
import { readTnef, type TnefContent, TnefError } from './tnef.js';

/** Largest header block of one MIME entity; real mail stays far below, header bombs do not. */
export const DEFAULT_MAX_HEADER_BYTES = 256 * 1024;
/** Deepest nesting of multiparts and embedded messages. Real mail rarely nests more than 5 levels. */
export const DEFAULT_MAX_MIME_DEPTH = 20;
/** Most MIME parts (entities) one message may have. */
export const DEFAULT_MAX_PARTS = 500;

/** Receives every attachment's bytes as they stream past (R12 archive); returns where they were stored. */
export type AttachmentArchive = (
  attachment: { index: number; filename: string | null; contentType: string },
  content: Readable,
) => Promise<string>;

export interface ParseLimits {
  /** Largest raw message accepted, in bytes (importer setting `maxMessageBytes`). */
  maxMessageBytes: number;
  /** Largest single image whose bytes are kept. */
  maxImageBytes: number;
  /** Most image bytes kept for one message, all images together. */
  maxImagesBytesPerMessage: number;
  /** Keep the bytes of every attachment within the image limits, not only of images (default "images"). */
  keep?: 'images' | 'all';
  maxHeaderBytes?: number;
  maxMimeDepth?: number;
  maxParts?: number;
  /** The mail's processing budget, checked per chunk and per MIME part. */
  budget?: ProcessingBudget;
}

export type MailLimitName = 'maxMessageBytes' | 'maxHeaderBytes' | 'maxMimeDepth' | 'maxParts';

/** The message breaks one of the structural limits; `limit` names which one. */
export class MailLimitError extends Error {
  override readonly name = 'MailLimitError';
  readonly limit: MailLimitName;
  readonly max: number;

  constructor(limit: MailLimitName, max: number, detail: string) {
    super(`Mail exceeds ${limit} (${max}): ${detail}`);
    this.limit = limit;
    this.max = max;
  }
}

/** Archiving an attachment failed (storage, not the mail): passed on so the caller retries. */
export class ArchiveFailure extends Error {
  override readonly name = 'ArchiveFailure';

  constructor(cause: unknown) {
    super(`Attachment archive failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

/** The input cannot be read as a mail at all. */
export class MailParseError extends Error {
  override readonly name = 'MailParseError';
}

/** Why an attachment's bytes were not kept. */
export const ATTACHMENT_REASONS = {
  notImage: 'not an image',
  imageTooLarge: 'image larger than maxImageBytes',
  messageImagesTooLarge: 'images of this message exceed maxImagesBytesPerMessage',
  fileTooLarge: 'attachment larger than maxImageBytes',
  messageFilesTooLarge: 'attachments of this message exceed maxImagesBytesPerMessage',
} as const;

interface ResolvedLimits {
  maxMessageBytes: number;
  maxImageBytes: number;
  maxImagesBytesPerMessage: number;
  maxHeaderBytes: number;
  maxMimeDepth: number;
  maxParts: number;
  keep: 'images' | 'all';
}

function resolveLimits(limits: ParseLimits): ResolvedLimits {
  const resolved: ResolvedLimits = {
    maxMessageBytes: limits.maxMessageBytes,
    maxImageBytes: limits.maxImageBytes,
    maxImagesBytesPerMessage: limits.maxImagesBytesPerMessage,
    maxHeaderBytes: limits.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES,
    maxMimeDepth: limits.maxMimeDepth ?? DEFAULT_MAX_MIME_DEPTH,
    maxParts: limits.maxParts ?? DEFAULT_MAX_PARTS,
    keep: limits.keep ?? 'images',
  };
  for (const [name, value] of Object.entries(resolved)) {
    if (name !== 'keep' && (!Number.isSafeInteger(value) || value < 1)) {
      throw new RangeError(`Parse limit ${name} must be a positive integer, got ${String(value)}`);
    }
  }
  return resolved;
}

// ---------------------------------------------------------------------------------------------
// Character sets
// ---------------------------------------------------------------------------------------------

const UTF8 = new TextDecoder('utf-8');
const UTF8_STRICT = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
// windows-1252 for the bytes 0x80-0x9F (0xA0-0xFF are the same code points). Spelled out because
// Node's TextDecoder('windows-1252') decodes these bytes as Latin-1 control characters.
const CP1252_C1 = [
  0x20ac, 0x81, 0x201a, 0x192, 0x201e, 0x2026, 0x2020, 0x2021, 0x2c6, 0x2030, 0x160, 0x2039, 0x152, 0x8d,
  0x17d, 0x8f, 0x90, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014, 0x2dc, 0x2122, 0x161, 0x203a,
  0x153, 0x9d, 0x17e, 0x178,
];
/** What windows-1252 makes of the bytes 0x80-0xFF: the fallback for bytes that are not UTF-8. */
const CP1252_HIGH = Array.from({ length: 128 }, (_, i) => String.fromCharCode(CP1252_C1[i] ?? 0x80 + i));
const CP1252_BYTE = new Map(CP1252_HIGH.map((char, i) => [char, 0x80 + i]));
const SINGLE_BYTE = /^(?:ibm866|iso-8859-\d+|koi8-[ru]|macintosh|windows-\d+|x-mac-cyrillic)$/;

function escapeClass(chars: string[]): string {
  return chars.map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('');
}
// UTF-8 text that was once decoded as windows-1252 ("AÃ§Ã£o"): a lead byte character followed by
// the right number of continuation byte characters. Only exact sequences match, so real text stays.
const CONTINUATION = `[${escapeClass(CP1252_HIGH.slice(0, 64))}]`;
const MOJIBAKE = new RegExp(
  `[\\u00c2-\\u00df]${CONTINUATION}|[\\u00e0-\\u00ef]${CONTINUATION}{2}|[\\u00f0-\\u00f4]${CONTINUATION}{3}`,
  'g',
);
// C0/C1 controls other than tab and line breaks, and byte order marks, never belong in ticket text.
const CONTROL = /(?![\t\n\r])[\p{Cc}\uFEFF]/gu;

function repairMojibake(match: string): string {
  const bytes = Uint8Array.from([...match], (c) => CP1252_BYTE.get(c) ?? c.charCodeAt(0));
  try {
    return UTF8_STRICT.decode(bytes);
  } catch {
    return match;
  }
}

/** Repairs double-encoded UTF-8 and removes control characters and BOMs. */
export function cleanText(text: string): string {
  return text.replace(MOJIBAKE, repairMojibake).replace(CONTROL, '');
}

const UTF7 = 'utf-7';

/** The WHATWG encoding (or UTF-7) for a declared charset name, or null when it is unknown or refused. */
function resolveCharset(declared: string): string | null {
  let label = trimChars(declared, ' \t\r\n"\'').toLowerCase();
  label = (label.split('*')[0] ?? '').trim();
  if (label === '') return null;
  // TextDecoder does not know UTF-7. Decoded here, its markup ("+ADw-script+AD4-") becomes plain
  // characters that the sanitiser sees and removes like any other; left encoded it would slip past.
  if (/^(?:utf-?7|unicode-1-1-utf-7|csunicode11utf7)$/.test(label)) return UTF7;
  label = label
    .replace(/^win(?:dows)?[-_ ]?(\d{3,4})$/, 'windows-$1')
    .replace(/^cp[-_ ]?(125\d)$/, 'windows-$1')
    .replace(/^iso[-_ ]?8859[-_ ]?(\d{1,2})(-i)?$/, 'iso-8859-$1$2')
    .replace(/^(?:ks_c_5601.*|cp949|uhc)$/, 'euc-kr')
    .replace(/^cp936$/, 'gbk');
  try {
    const encoding = new TextDecoder(label).encoding;
    // "replacement" stands for charsets browsers refuse; the lenient fallback keeps more text.
    return encoding === 'replacement' || encoding === 'x-user-defined' ? null : encoding;
  } catch {
    return null;
  }
}

function utf8SequenceLength(bytes: Uint8Array, i: number): number {
  const b0 = bytes[i] ?? 0;
  const cont = (at: number, low = 0x80, high = 0xbf) => {
    const b = bytes[at];
    return b !== undefined && b >= low && b <= high;
  };
  if (b0 >= 0xc2 && b0 <= 0xdf) return cont(i + 1) ? 2 : 0;
  if (b0 >= 0xe0 && b0 <= 0xef) {
    const ok = cont(i + 1, b0 === 0xe0 ? 0xa0 : 0x80, b0 === 0xed ? 0x9f : 0xbf) && cont(i + 2);
    return ok ? 3 : 0;
  }
  if (b0 >= 0xf0 && b0 <= 0xf4) {
    const ok =
      cont(i + 1, b0 === 0xf0 ? 0x90 : 0x80, b0 === 0xf4 ? 0x8f : 0xbf) && cont(i + 2) && cont(i + 3);
    return ok ? 4 : 0;
  }
  return 0;
}

/** UTF-8 where the bytes are UTF-8, windows-1252 for every byte that is not (mixed or mislabelled text). */
function decodeLenientUtf8(bytes: Uint8Array): string {
  const out: string[] = [];
  let runStart = 0;
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i] ?? 0;
    if (b < 0x80) {
      i++;
      continue;
    }
    const length = utf8SequenceLength(bytes, i);
    if (length > 0) {
      i += length;
      continue;
    }
    if (runStart < i) out.push(UTF8.decode(bytes.subarray(runStart, i)));
    out.push(CP1252_HIGH[b - 0x80] ?? '');
    i++;
    runStart = i;
  }
  if (runStart < bytes.length) out.push(UTF8.decode(bytes.subarray(runStart)));
  return out.join('');
}

function decodeWindows1252(bytes: Uint8Array): string {
  const out: string[] = [];
  for (const byte of bytes)
    out.push(byte < 0x80 ? String.fromCharCode(byte) : (CP1252_HIGH[byte - 0x80] ?? ''));
  return out.join('');
}

/**
 * TextDecoder, except for windows-1252 (and the labels that mean it), which Node decodes as Latin-1,
 * and UTF-7, which only iconv-lite knows.
 */
function decodeWith(encoding: string, bytes: Uint8Array): string {
  if (encoding === UTF7)
    return iconv.decode(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length), 'utf7');
  return encoding === 'windows-1252' ? decodeWindows1252(bytes) : new TextDecoder(encoding).decode(bytes);
}

function strictUtf8(bytes: Uint8Array): string | null {
  try {
    return UTF8_STRICT.decode(bytes);
  } catch {
    return null;
  }
}

function hasHighBytes(bytes: Uint8Array): boolean {
  return bytes.some((b) => b >= 0x80);
}

function sniffMetaCharset(bytes: Uint8Array): string | null {
  const head = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.length, 4096)).toString('latin1');
  const match = /<meta[^>]+charset\s*=\s*["']?\s*([\w.:-]+)/i.exec(head);
  return match?.[1] ? resolveCharset(match[1]) : null;
}

/**
 * Decodes a text body or header word. The declared charset wins when it is known and the bytes fit
 * it; a missing, unknown or wrong one falls back to UTF-8 with windows-1252 for stray bytes, which is
 * what mislabelled mail almost always is. BOMs and control characters are dropped, mojibake repaired.
 */
export function decodeText(bytes: Uint8Array, declared: string | null): string {
  let encoding = resolveCharset(declared ?? '');
  let body = bytes;
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
    encoding = 'utf-8';
    body = bytes.subarray(3);
  } else if (bytes[0] === 0xff && bytes[1] === 0xfe) {
    encoding = 'utf-16le';
    body = bytes.subarray(2);
  } else if (bytes[0] === 0xfe && bytes[1] === 0xff) {
    encoding = 'utf-16be';
    body = bytes.subarray(2);
  }
  let text: string;
  if (encoding === null || encoding === 'utf-8') {
    const meta = encoding === null ? sniffMetaCharset(body) : null;
    text = strictUtf8(body) ?? (meta && meta !== 'utf-8' ? decodeWith(meta, body) : decodeLenientUtf8(body));
  } else if (SINGLE_BYTE.test(encoding) && hasHighBytes(body)) {
    // UTF-8 labelled as a legacy single-byte charset is common; legacy text is practically never valid UTF-8.
    text = strictUtf8(body) ?? decodeWith(encoding, body);
  } else {
    text = decodeWith(encoding, body);
  }
  return cleanText(text);
}

/** Raw 8-bit header bytes: UTF-8 when valid, windows-1252 otherwise. */
function decodeRawHeader(latin1: string): string {
  const bytes = Buffer.from(latin1, 'latin1');
  return hasHighBytes(bytes) ? decodeLenientUtf8(bytes) : latin1;
}

const ENCODED_WORD = /=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=/g;

function encodedWordBytes(encoding: string, payload: string): Buffer {
  if (encoding.toLowerCase() === 'b') return Buffer.from(payload, 'base64');
  const latin1 = payload
    .replace(/_/g, ' ')
    .replace(/=([0-9a-fA-F]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
  return Buffer.from(latin1, 'latin1');
}

/** RFC 2047 encoded words, with adjacent words of one charset joined before decoding (split characters). */
export function decodeEncodedWords(value: string): string {
  let out = '';
  let last = 0;
  let pendingCharset: string | null = null;
  let pendingBytes: Buffer[] = [];
  const flush = () => {
    if (pendingCharset !== null) out += decodeText(Buffer.concat(pendingBytes), pendingCharset);
    pendingCharset = null;
    pendingBytes = [];
  };
  for (const match of value.matchAll(ENCODED_WORD)) {
    const gap = value.slice(last, match.index);
    const charset = (match[1] ?? '').split('*')[0] ?? '';
    const bytes = encodedWordBytes(match[2] ?? 'q', match[3] ?? '');
    // White space between two encoded words is folding, not text (RFC 2047 section 6.2).
    const adjacent = pendingCharset !== null && /^[ \t\r\n]*$/.test(gap);
    if (!adjacent || pendingCharset?.toLowerCase() !== charset.toLowerCase()) {
      flush();
      if (!adjacent) out += gap;
      pendingCharset = charset;
    }
    pendingBytes.push(bytes);
    last = match.index + match[0].length;
  }
  flush();
  return out + value.slice(last);
}

// mailparser decodes text bodies itself: through the `Iconv` class for declared non-UTF-8 charsets,
// with a plain (lossy) UTF-8 conversion otherwise. Tagging every text node's charset routes all of
// them through BodyCharsetDecoder, so missing, wrong and invalid charsets get the fallback above.
const CHARSET_TAG = 'x-helpdesk-declared;';

class BodyCharsetDecoder extends Transform {
  private readonly declared: string;
  private readonly chunks: Buffer[] = [];

  constructor(fromCharset: string, _toCharset: string) {
    super();
    this.declared = fromCharset.startsWith(CHARSET_TAG) ? fromCharset.slice(CHARSET_TAG.length) : fromCharset;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.chunks.push(chunk);
    done();
  }

  override _flush(done: TransformCallback): void {
    try {
      this.push(Buffer.from(decodeText(Buffer.concat(this.chunks), this.declared), 'utf8'));
      done();
    } catch (error) {
      done(error as Error);
    }
  }
}

interface ParserNode {
  charset?: string | false;
}
/** A node of the parser's MIME tree as its splitter reports it: each part, with its container. */
interface SplitterNode {
  type?: unknown;
  parentNode?: SplitterNode | false;
}
interface MailParserInternals {
  createNode?: (this: MailParser, data: unknown) => ParserNode;
  processChunk?: (this: MailParser, data: SplitterNode, done: (error?: Error | null) => void) => void;
}

function routeAllTextThroughDecoder(parser: MailParser): void {
  const internals = parser as unknown as MailParserInternals;
  const createNode = internals.createNode;
  // Without the hook (a future mailparser) declared charsets still decode; only the fallback is lost.
  if (typeof createNode !== 'function') return;
  internals.createNode = function (this: MailParser, data: unknown): ParserNode {
    const node = createNode.call(this, data);
    node.charset = CHARSET_TAG + (node.charset || '');
    return node;
  };
}

/**
 * Counts MIME parts and nesting from the parser's own tree, node by node as the parser builds it: what
 * the parser reads as a boundary (`boundary*=utf-8''b`, a comment after the parameter, …) is exactly
 * what gets counted, and the count stops the parse at the first part over a limit.
 */
function limitStructure(
  parser: MailParser,
  limits: ResolvedLimits,
  budget: ProcessingBudget | undefined,
): void {
  const internals = parser as unknown as MailParserInternals;
  const processChunk = internals.processChunk;
  // The limits are part of the product's promises: a mailparser without the hook must not pass quietly.
  if (typeof processChunk !== 'function') throw new Error('mailparser no longer exposes processChunk');
  let parts = 0;
  internals.processChunk = function (this: MailParser, data, done) {
    try {
      budget?.check();
    } catch (error) {
      done(error as Error);
      return;
    }
    if (data.type === 'node') {
      parts++;
      let depth = 0;
      for (let parent = data.parentNode; parent && depth <= limits.maxMimeDepth; parent = parent.parentNode)
        depth++;
      if (depth > limits.maxMimeDepth) {
        done(
          new MailLimitError(
            'maxMimeDepth',
            limits.maxMimeDepth,
            `MIME parts are nested more than ${limits.maxMimeDepth} levels deep`,
          ),
        );
        return;
      }
      if (parts > limits.maxParts) {
        done(
          new MailLimitError('maxParts', limits.maxParts, `message has more than ${limits.maxParts} parts`),
        );
        return;
      }
    }
    processChunk.call(this, data, done);
  };
}

// ---------------------------------------------------------------------------------------------
// Raw stream inspection: size, hash, structural limits
// ---------------------------------------------------------------------------------------------

interface OpenEntity {
  /** Boundary of an open multipart; null for an embedded message. */
  boundary: string | null;
}

const HEADER_FIELD = /^[\x21-\x39\x3b-\x7e]+[ \t]*:/;
/** Longest line that can still be a boundary delimiter (70 + dashes + trailing white space slack). */
const MAX_DELIMITER_LINE = 1100;

/**
 * Passes the raw message through unchanged while hashing and counting it, and follows its MIME
 * structure cheaply (header blocks and boundary lines only) to stop oversized messages and header
 * blocks before the parser builds anything. One repair: a part whose headers run straight into the
 * body without the empty line gets that line, as lenient parsers do. Depth and parts are counted
 * from the parser's own tree instead (limitStructure): a boundary this scan misreads must not let
 * a message past them.
 */
class RawInspector extends Transform {
  readonly hash = createHash('sha256');
  size = 0;
  private readonly limits: ResolvedLimits;
  private state: 'header' | 'body' = 'header';
  /** The current header block is a message's (root or embedded), not a MIME part's. */
  private messageHeader = true;
  private headerBlockBytes = 0;
  private headerLine: Buffer[] = [];
  private headerBlock: string[] = [];
  private readonly stack: OpenEntity[] = [];
  private bodyLine: Buffer[] = [];
  private bodyLineBytes = 0;
  private bodyLineStart = true;
  private bodyLineCandidate = false;

  private readonly budget: ProcessingBudget | undefined;

  constructor(limits: ResolvedLimits, budget?: ProcessingBudget) {
    super();
    this.limits = limits;
    this.budget = budget;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    try {
      this.budget?.check();
      this.size += chunk.length;
      if (this.size > this.limits.maxMessageBytes) {
        throw new MailLimitError(
          'maxMessageBytes',
          this.limits.maxMessageBytes,
          `message is larger than ${this.limits.maxMessageBytes} bytes`,
        );
      }
      this.hash.update(chunk);
      this.scan(chunk);
      done();
    } catch (error) {
      done(error as Error);
    }
  }

  override _flush(done: TransformCallback): void {
    if (this.headerLine.length > 0) this.push(Buffer.concat(this.headerLine));
    this.headerLine = [];
    done();
  }

  private scan(chunk: Buffer): void {
    let pos = 0;
    let passFrom = 0;
    while (pos < chunk.length) {
      const newline = chunk.indexOf(0x0a, pos);
      const end = newline === -1 ? chunk.length : newline + 1;
      if (this.state === 'body') {
        const enteredHeader = this.bodyPiece(chunk.subarray(pos, end), newline !== -1);
        pos = end;
        if (enteredHeader) {
          this.push(chunk.subarray(passFrom, pos));
          passFrom = pos;
        }
      } else {
        this.headerPiece(chunk.subarray(pos, end), newline !== -1);
        pos = end;
        passFrom = pos;
      }
    }
    if (passFrom < chunk.length) this.push(chunk.subarray(passFrom));
  }

  /** True when the piece ended the body (a boundary line), so header bytes follow. */
  private bodyPiece(piece: Buffer, complete: boolean): boolean {
    if (this.bodyLineStart) {
      this.bodyLineStart = false;
      this.bodyLineCandidate = this.stack.length > 0 && piece[0] === 0x2d;
    }
    if (this.bodyLineCandidate) {
      this.bodyLineBytes += piece.length;
      if (this.bodyLineBytes > MAX_DELIMITER_LINE) {
        this.bodyLineCandidate = false;
        this.bodyLine = [];
      } else {
        this.bodyLine.push(Buffer.from(piece));
      }
    }
    if (!complete) return false;
    const candidate = this.bodyLineCandidate;
    const line = candidate
      ? Buffer.concat(this.bodyLine)
          .toString('latin1')
          .replace(/\r?\n$/, '')
      : '';
    this.bodyLine = [];
    this.bodyLineBytes = 0;
    this.bodyLineStart = true;
    this.bodyLineCandidate = false;
    if (candidate) this.delimiter(line);
    return this.state === 'header';
  }

  /** Which open multipart a line delimits, if any (innermost first, as parsers resolve them). */
  private matchDelimiter(line: string): { index: number; close: boolean } | null {
    if (!line.startsWith('--')) return null;
    for (let index = this.stack.length - 1; index >= 0; index--) {
      const boundary = this.stack[index]?.boundary;
      if (boundary == null || !line.startsWith(`--${boundary}`)) continue;
      const rest = line.slice(boundary.length + 2);
      if (/^[ \t]*$/.test(rest)) return { index, close: false };
      if (/^--[ \t]*$/.test(rest)) return { index, close: true };
    }
    return null;
  }

  private delimiter(line: string): void {
    const match = this.matchDelimiter(line);
    if (match === null) return;
    if (match.close) {
      this.stack.length = match.index;
      this.state = 'body';
      return;
    }
    this.stack.length = match.index + 1;
    this.state = 'header';
    this.messageHeader = false;
    this.headerBlockBytes = 0;
  }

  private headerPiece(piece: Buffer, complete: boolean): void {
    this.headerBlockBytes += piece.length;
    if (this.headerBlockBytes > this.limits.maxHeaderBytes) {
      throw new MailLimitError(
        'maxHeaderBytes',
        this.limits.maxHeaderBytes,
        `a header block is larger than ${this.limits.maxHeaderBytes} bytes`,
      );
    }
    this.headerLine.push(Buffer.from(piece));
    if (!complete) return;
    const raw = Buffer.concat(this.headerLine);
    this.headerLine = [];
    const line = raw.toString('latin1').replace(/\r?\n$/, '');
    if (line === '') {
      this.push(raw);
      this.endHeaderBlock();
    } else if (this.matchDelimiter(line) !== null) {
      // A part with headers but no body: the next boundary follows at once.
      this.push(raw);
      this.endHeaderBlock();
      this.delimiter(line);
    } else if (!this.messageHeader && !HEADER_FIELD.test(line) && !/^[ \t]/.test(line)) {
      this.push(Buffer.from(raw.at(-2) === 0x0d ? '\r\n' : '\n'));
      this.endHeaderBlock();
      this.push(raw);
    } else {
      this.headerBlock.push(line);
      this.push(raw);
    }
  }

  private endHeaderBlock(): void {
    const unfolded = this.headerBlock
      .join('\n')
      .replace(/\n[ \t]+/g, ' ')
      .split('\n');
    this.headerBlock = [];
    this.headerBlockBytes = 0;
    this.state = 'body';
    this.bodyLineStart = true;
    const field = (name: string): string => {
      for (const line of unfolded) {
        const match = /^([^:]+):(.*)$/.exec(line);
        if (match && match[1]?.trim().toLowerCase() === name) return (match[2] ?? '').trim();
      }
      return '';
    };
    const contentType = field('content-type');
    const type = (contentType.split(';')[0] ?? '').trim().toLowerCase();
    if (type.startsWith('multipart/')) {
      const boundary = /(?:^|;)\s*boundary\s*=\s*(?:"([^"]*)"|([^;\s]+))/i.exec(contentType);
      const value = boundary?.[1] ?? boundary?.[2];
      if (value) this.open({ boundary: value });
      return;
    }
    const encoding = field('content-transfer-encoding').toLowerCase();
    if (
      (type === 'message/rfc822' || type === 'message/global') &&
      !/base64|quoted-printable/.test(encoding)
    ) {
      this.open({ boundary: null });
      this.state = 'header';
      this.messageHeader = true;
    }
  }

  private open(entity: OpenEntity): void {
    // The parser refuses deeper mail (limitStructure); following it further here would only cost time.
    if (this.stack.length <= this.limits.maxMimeDepth) this.stack.push(entity);
  }
}

// ---------------------------------------------------------------------------------------------
// Headers and addresses
// ---------------------------------------------------------------------------------------------

/** Appends to an own-property list, so a header called "__proto__" cannot reach the prototype. */
function append(map: Record<string, string[]>, name: string, value: string): void {
  const list = Object.hasOwn(map, name) ? map[name] : undefined;
  if (list) list.push(value);
  else
    Object.defineProperty(map, name, {
      value: [value],
      enumerable: true,
      writable: true,
      configurable: true,
    });
}

/** Header values by lower-cased name: `raw` only unfolded and byte-decoded, `decoded` also word-decoded. */
function headerMap(lines: HeaderLines): { decoded: Record<string, string[]>; raw: Record<string, string[]> } {
  const decoded: Record<string, string[]> = {};
  const raw: Record<string, string[]> = {};
  for (const { key, line } of lines) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const value = decodeRawHeader(line.slice(colon + 1).replace(/\r?\n(?=[ \t])/g, ''));
    const name = key.trim().toLowerCase();
    append(raw, name, value);
    append(decoded, name, cleanText(decodeEncodedWords(value)).trim());
  }
  return { decoded, raw };
}

const LOCAL_PART = /^[\p{L}\p{N}!#$%&'*+/=?^_`{|}~.-]+$/u;
const DOMAIN_LABEL = /^[\p{L}\p{N}](?:[\p{L}\p{N}-]{0,61}[\p{L}\p{N}])?$/u;

/** The address lower-cased, or '' when it is not a deliverable address (RFC 5321/3696 lengths). */
export function normalizeAddress(address: string | undefined): string {
  const value = (address ?? '').trim().toLowerCase();
  const at = value.lastIndexOf('@');
  if (at <= 0 || at === value.length - 1 || value.length > 254) return '';
  const local = value.slice(0, at);
  const domain = value.slice(at + 1);
  if (local.length > 64 || !LOCAL_PART.test(local) || local.startsWith('.') || local.endsWith('.')) return '';
  if (/^\[[0-9a-f:.]+\]$/.test(domain)) return value;
  const labels = domain.split('.');
  return labels.length >= 2 && labels.every((label) => DOMAIN_LABEL.test(label)) ? value : '';
}

/** The value without the given characters at either end (a loop: trimming regexes backtrack badly). */
function trimChars(value: string, chars: string): string {
  let start = 0;
  let end = value.length;
  while (start < end && chars.includes(value[start] ?? '')) start++;
  while (end > start && chars.includes(value[end - 1] ?? '')) end--;
  return value.slice(start, end);
}

function cleanName(name: string | undefined): string {
  return trimChars(cleanText(name ?? '').replace(/\s+/g, ' '), ' "\'');
}

function parseAddresses(values: string[] | undefined): Array<{ address: string; name: string }> {
  if (!values || values.length === 0) return [];
  let parsed: EmailAddress[];
  try {
    parsed = parseAddressHeader(values, { flatten: true }).value;
  } catch {
    return [];
  }
  return parsed.map((entry) => ({ address: normalizeAddress(entry.address), name: cleanName(entry.name) }));
}

function validAddresses(values: string[] | undefined): MailAddress[] {
  return parseAddresses(values).filter((entry) => entry.address !== '');
}

function sender(values: string[] | undefined): MailAddress | null {
  const first = values?.[0];
  if (first === undefined) return null;
  const entries = parseAddresses([first]);
  return entries.find((entry) => entry.address !== '') ?? { address: '', name: entries[0]?.name ?? '' };
}

function messageIds(values: string[] | undefined): string[] {
  const ids = new Set<string>();
  for (const value of values ?? []) {
    const bracketed = value.match(/<[^<>\s]+>/g);
    const found =
      bracketed ??
      value
        .split(/[\s,]+/)
        .filter((token) => token.includes('@'))
        .map((token) => `<${token}>`);
    for (const id of found) ids.add(id);
  }
  return [...ids];
}

function firstMessageId(values: string[] | undefined): string | null {
  const value = values?.[0]?.trim() ?? '';
  const bracketed = /<[^<>\s]+>/.exec(value)?.[0];
  if (bracketed) return bracketed;
  return value !== '' && !/\s/.test(value) ? `<${value.replace(/^<|>$/g, '')}>` : null;
}

function isoDate(values: string[] | undefined): string | null {
  for (const value of values ?? []) {
    const candidates = [value, value.replace(/\([^)]*\)/g, ' ').trim()];
    for (const candidate of candidates) {
      const time = Date.parse(candidate);
      if (!Number.isNaN(time)) return new Date(time).toISOString();
    }
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Attachments
// ---------------------------------------------------------------------------------------------

interface ImageBudget {
  used: number;
}

function structured(headers: Headers, name: string): StructuredHeader | undefined {
  const value = headers.get(name);
  return value && typeof value === 'object' && 'value' in value && 'params' in value
    ? (value as StructuredHeader)
    : undefined;
}

/** Where one attachment stands while it streams past. */
class AttachmentSink {
  readonly hash = createHash('sha256');
  size = 0;
  /** Undefined until the first bytes have been sniffed. */
  detected: ImageType | null | undefined;
  reason: string | null = null;
  private head: Buffer[] = [];
  private headBytes = 0;
  private kept: Buffer[] | null = null;
  private readonly limits: ResolvedLimits;
  private readonly budget: ImageBudget;

  constructor(limits: ResolvedLimits, budget: ImageBudget) {
    this.limits = limits;
    this.budget = budget;
  }

  async write(bytes: Buffer): Promise<void> {
    this.hash.update(bytes);
    this.size += bytes.length;
    if (this.detected === undefined) {
      this.head.push(bytes);
      this.headBytes += bytes.length;
      if (this.headBytes >= IMAGE_SNIFF_BYTES) await this.sniff();
    } else {
      this.kept?.push(bytes);
    }
    this.enforceLimits();
  }

  /** The kept image bytes, or null when nothing is kept. Call once, after the last write. */
  async end(): Promise<Buffer | null> {
    if (this.detected === undefined) await this.sniff();
    this.enforceLimits();
    if (this.kept === null) return null;
    this.budget.used += this.size;
    return Buffer.concat(this.kept, this.size);
  }

  private async sniff(): Promise<void> {
    this.detected = await detectImageType(Buffer.concat(this.head, this.headBytes));
    const keepAll = this.limits.keep === 'all';
    this.kept = this.detected || keepAll ? this.head : null;
    this.reason = this.detected || keepAll ? null : ATTACHMENT_REASONS.notImage;
    this.head = [];
  }

  // Checked on every chunk so an image over a limit is dropped as soon as it crosses it.
  private enforceLimits(): void {
    if (this.kept === null) return;
    const image = Boolean(this.detected);
    if (this.size > this.limits.maxImageBytes) {
      this.reason = image ? ATTACHMENT_REASONS.imageTooLarge : ATTACHMENT_REASONS.fileTooLarge;
    } else if (this.budget.used + this.size > this.limits.maxImagesBytesPerMessage) {
      this.reason = image
        ? ATTACHMENT_REASONS.messageImagesTooLarge
        : ATTACHMENT_REASONS.messageFilesTooLarge;
    } else return;
    this.kept = null;
  }
}

async function readAttachment(
  attachment: AttachmentStream,
  limits: ResolvedLimits,
  budget: ImageBudget,
  signal: AbortSignal,
  archive: { store: AttachmentArchive; index: number } | null,
): Promise<ParsedAttachment> {
  const sink = new AttachmentSink(limits, budget);
  const filename = cleanName(attachment.filename);
  const contentType = (
    structured(attachment.headers, 'content-type')?.value ?? attachment.contentType
  ).toLowerCase();
  // The archive copy streams alongside the hashing, so no attachment is ever held whole for it.
  const copy = archive ? new PassThrough() : null;
  let archiveFailure: ArchiveFailure | null = null;
  const stored =
    archive && copy
      ? archive
          .store({ index: archive.index, filename: filename === '' ? null : filename, contentType }, copy)
          .catch((error: unknown) => {
            archiveFailure = new ArchiveFailure(error);
            copy.destroy();
            throw archiveFailure;
          })
      : null;
  stored?.catch(() => undefined);
  try {
    for await (const chunk of addAbortSignal(signal, attachment.content)) {
      await sink.write(chunk as Buffer);
      if (archiveFailure) throw archiveFailure;
      if (copy && !copy.write(chunk)) await Promise.race([once(copy, 'drain', { signal }), stored]);
    }
    copy?.end();
  } catch (error) {
    copy?.destroy();
    throw archiveFailure ?? error;
  }
  const archivedAs = stored ? await stored : null;
  const content = await sink.end();
  attachment.release?.();
  const cid = cleanName(attachment.cid);
  return {
    filename: filename === '' ? null : filename,
    contentType,
    archivedAs,
    detectedType: sink.detected ?? null,
    detectedFileType: content !== null && !sink.detected ? await detectFileType(content) : null,
    size: sink.size,
    inline: attachment.contentDisposition === 'inline' || attachment.related === true,
    contentId: cid === '' ? null : cid,
    sha256: sink.hash.digest('hex'),
    content,
    reason: sink.reason,
  };
}

const TNEF_TYPES = new Set(['application/ms-tnef', 'application/vnd.ms-tnef']);

function isTnefAttachment(attachment: AttachmentStream): boolean {
  const contentType = (
    structured(attachment.headers, 'content-type')?.value ?? attachment.contentType
  ).toLowerCase();
  return TNEF_TYPES.has(contentType) || cleanName(attachment.filename).toLowerCase() === 'winmail.dat';
}

/** An attachment the parser did not stream itself: a file unpacked from winmail.dat, or winmail.dat kept whole. */
function bufferedAttachment(
  content: Buffer,
  filename: string | null,
  contentType: string,
  headers: Headers = new Map(),
): AttachmentStream {
  return {
    type: 'attachment',
    content: Readable.from([content]),
    contentType,
    contentDisposition: 'attachment',
    ...(filename === null ? {} : { filename }),
    headers,
    checksum: '',
    partId: '',
    size: content.length,
    release: () => {},
  };
}

/**
 * The files and body inside a winmail.dat, as attachments of their own. Its bytes are held whole to
 * read them (within the message size limit); one that is not readable TNEF stays a plain attachment.
 */
async function unpackTnef(
  attachment: AttachmentStream,
  signal: AbortSignal,
): Promise<{ files: AttachmentStream[]; body: { text: string | null; html: string | null } | null }> {
  const chunks: Buffer[] = [];
  for await (const chunk of addAbortSignal(signal, attachment.content)) chunks.push(chunk as Buffer);
  attachment.release?.();
  const bytes = Buffer.concat(chunks);
  const filename = cleanName(attachment.filename) || null;
  const whole = () => bufferedAttachment(bytes, filename, attachment.contentType, attachment.headers);
  let content: TnefContent;
  try {
    content = readTnef(bytes, (value, charset) => decodeText(value, charset));
  } catch (error) {
    if (error instanceof TnefError) return { files: [whole()], body: null };
    throw error;
  }
  const files = content.files.map((file) =>
    bufferedAttachment(file.content, file.filename, file.contentType ?? 'application/octet-stream'),
  );
  const body =
    content.text !== null || content.html !== null ? { text: content.text, html: content.html } : null;
  return { files, body };
}

// ---------------------------------------------------------------------------------------------
// parseMail
// ---------------------------------------------------------------------------------------------

/** Size of the pieces the parser is fed: every piece costs each stage of the parse a turn. */
const PIECE_BYTES = 64 * 1024;

function* slices(buffer: Buffer): Generator<Buffer> {
  for (let i = 0; i < buffer.length; i += PIECE_BYTES) yield buffer.subarray(i, i + PIECE_BYTES);
}

/**
 * A network stream's chunks joined into pieces of at least PIECE_BYTES (the last one smaller): over
 * TLS they arrive in 16–32 KB, which made three times as many turns through the parser's stages as
 * the same mail read from memory.
 */
async function* inPieces(chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  let size = 0;
  for await (const chunk of chunks) {
    pending.push(chunk);
    size += chunk.length;
    if (size >= PIECE_BYTES) {
      yield pending.length === 1 ? chunk : Buffer.concat(pending, size);
      pending = [];
      size = 0;
    }
  }
  if (size > 0) yield Buffer.concat(pending, size);
}

function classify(error: unknown, origin: 'source' | 'parser', limits: ResolvedLimits): unknown {
  if (
    error instanceof MailLimitError ||
    error instanceof MailParseError ||
    error instanceof ArchiveFailure ||
    error instanceof ProcessingTimeExceeded
  ) {
    return error;
  }
  if (origin === 'source') return error;
  const message = error instanceof Error ? error.message : String(error);
  // mailsplit's own limits are set above ours; if one still trips, it is the same limit.
  if ((error as { code?: unknown } | null)?.code === 'EMAXLEN') {
    return /child nodes/i.test(message)
      ? new MailLimitError('maxParts', limits.maxParts, message)
      : new MailLimitError('maxHeaderBytes', limits.maxHeaderBytes, message);
  }
  return new MailParseError(`Unreadable mail: ${message}`, { cause: error });
}

/**
 * Parses one raw RFC 822 message from a stream without holding it in memory more than once:
 * attachments are hashed and measured chunk by chunk and only images within the limits are kept.
 * Throws MailLimitError for a message over a limit and MailParseError for one that cannot be read;
 * errors of the source stream itself are passed on unchanged.
 */
export async function parseMail(
  source: Readable | Buffer,
  limits: ParseLimits,
  archiveAttachment?: AttachmentArchive,
): Promise<ParsedMail> {
  const resolved = resolveLimits(limits);
  const fromMemory = Buffer.isBuffer(source);
  const input = fromMemory ? Readable.from(slices(source)) : source;
  const inspector = new RawInspector(resolved, limits.budget);
  const parser = new MailParser({
    Iconv: BodyCharsetDecoder,
    checksumAlgo: false,
    skipHtmlToText: true,
    skipTextToHtml: true,
    skipTextLinks: true,
    skipImageLinks: true,
    maxHeadSize: resolved.maxHeaderBytes * 4,
    maxChildNodes: resolved.maxParts * 2,
  });
  routeAllTextThroughDecoder(parser);
  limitStructure(parser, resolved, limits.budget);

  let rootHeaders: Headers = new Map();
  parser.once('headers', (headers: Headers) => {
    rootHeaders = headers;
  });
  const abort = new AbortController();
  let failure: { error: unknown; origin: 'source' | 'parser' } | null = null;
  const fail = (origin: 'source' | 'parser') => (error: unknown) => {
    failure ??= { error, origin };
    abort.abort(error);
  };
  input.once('error', fail('source'));
  inspector.once('error', fail('parser'));
  parser.once('error', fail('parser'));

  const attachments: ParsedAttachment[] = [];
  const budget: ImageBudget = { used: 0 };
  let body: MessageText | null = null;
  let tnefBody: { text: string | null; html: string | null } | null = null;
  let archiveFailure: ArchiveFailure | null = null;
  try {
    // Typed as a plain Transform: MailParser narrows read() to objects, which pipeline's types reject.
    const parserStream: Transform = parser;
    const consume = async (items: AsyncIterable<AttachmentStream | MessageText>) => {
      for await (const item of items) {
        if (item.type !== 'attachment') {
          body = item;
          continue;
        }
        const read = (attachment: AttachmentStream) =>
          readAttachment(
            attachment,
            resolved,
            budget,
            abort.signal,
            archiveAttachment ? { store: archiveAttachment, index: attachments.length } : null,
          );
        try {
          if (isTnefAttachment(item)) {
            const unpacked = await unpackTnef(item, abort.signal);
            if (attachments.length + unpacked.files.length > resolved.maxParts) {
              throw new MailLimitError(
                'maxParts',
                resolved.maxParts,
                `message has more than ${resolved.maxParts} parts (with the files in winmail.dat)`,
              );
            }
            for (const file of unpacked.files) attachments.push(await read(file));
            tnefBody ??= unpacked.body;
          } else {
            attachments.push(await read(item));
          }
        } catch (error) {
          // pipeline() reports the abort this causes upstream, not this error: keep it.
          if (error instanceof ArchiveFailure) archiveFailure = error;
          throw error;
        }
      }
    };
    await (fromMemory
      ? pipeline(input, inspector, parserStream, consume)
      : pipeline(input, inPieces, inspector, parserStream, consume));
  } catch (error) {
    const first = failure as { error: unknown; origin: 'source' | 'parser' } | null;
    if (archiveFailure) throw archiveFailure;
    throw classify(first?.error ?? error, first?.origin ?? 'parser', resolved);
  }
  if (inspector.size === 0) throw new MailParseError('Unreadable mail: the message is empty');

  const { decoded, raw } = headerMap(parser.headerLines || []);
  const text = body as MessageText | null;
  let html = text?.html && text.html.trim() !== '' ? text.html : null;
  let plain = text?.text ?? '';
  // Outlook puts the whole body into winmail.dat at times; it counts only when the mail has no other.
  const fromTnef = tnefBody as { text: string | null; html: string | null } | null;
  if (plain.trim() === '' && html === null && fromTnef) {
    html = fromTnef.html;
    plain = fromTnef.text ?? '';
  }
  if (plain.trim() === '' && html !== null) plain = htmlToText(html, limits.budget);
  for (const attachment of attachments) {
    if (attachment.contentId && html?.toLowerCase().includes(`cid:${attachment.contentId.toLowerCase()}`)) {
      attachment.inline = true;
    }
  }
  const contentType = structured(rootHeaders, 'content-type');
  const mimeType = (contentType?.value ?? 'text/plain').trim().toLowerCase() || 'text/plain';

  return {
    messageId: firstMessageId(decoded['message-id']),
    inReplyTo: messageIds(decoded['in-reply-to']),
    references: messageIds(decoded.references),
    from: sender(raw.from),
    replyTo: validAddresses(raw['reply-to']),
    to: validAddresses(raw.to),
    cc: validAddresses(raw.cc),
    subject: (decoded.subject?.[0] ?? '').replace(/\s+/g, ' ').trim(),
    date: isoDate(decoded.date),
    headers: decoded,
    mimeType,
    reportType:
      mimeType === 'multipart/report' ? (contentType?.params['report-type']?.toLowerCase() ?? null) : null,
    text: plain,
    html,
    attachments,
    rawSize: inspector.size,
    rawSha256: inspector.hash.digest('hex'),
  };
}
