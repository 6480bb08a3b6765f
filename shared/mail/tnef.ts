/**
 * A small reader of TNEF (winmail.dat, application/ms-tnef), the wrapper Outlook and Exchange put around
 * a message's files and body for Outlook recipients. node-tnef, the one parser in the registry, pulls in
 * a logger and a command line parser; what the importer needs is the files and the text, read here from
 * the attribute stream ([MS-OXTNEF] 2.1.3) and its MAPI property lists ([MS-OXTNEF] 2.1.3.4).
 */

const SIGNATURE = 0x223e9f78;
const LEVEL_ATTACHMENT = 0x02;

// Attribute ids (low 16 bits of the attribute; the high 16 bits give its type).
const ATT_BODY = 0x800c;
const ATT_ATTACH_DATA = 0x800f;
const ATT_ATTACH_TITLE = 0x8010;
const ATT_ATTACH_REND_DATA = 0x9002;
const ATT_MSG_PROPS = 0x9003;
const ATT_ATTACHMENT = 0x9005;
const ATT_OEM_CODEPAGE = 0x9007;

// MAPI property ids and types.
const PR_BODY = 0x1000;
const PR_BODY_HTML = 0x1013;
const PR_ATTACH_DATA_BIN = 0x3701;
const PR_ATTACH_LONG_FILENAME = 0x3707;
const PR_ATTACH_MIME_TAG = 0x370e;
const PT_STRING8 = 0x001e;
const PT_UNICODE = 0x001f;
const PT_BINARY = 0x0102;
const PT_OBJECT = 0x000d;
const MULTI_VALUED = 0x1000;
const FIXED_SIZES = new Map<number, number>([
  [0x0002, 4],
  [0x0003, 4],
  [0x0004, 4],
  [0x0005, 8],
  [0x0006, 8],
  [0x0007, 8],
  [0x000a, 4],
  [0x000b, 4],
  [0x0014, 8],
  [0x0040, 8],
  [0x0048, 16],
]);

export interface TnefFile {
  filename: string | null;
  /** The MIME type Outlook recorded for the file, lower-case, or null. */
  contentType: string | null;
  content: Buffer;
}

export interface TnefContent {
  files: TnefFile[];
  /** The message's plain text, or null when the TNEF holds none. */
  text: string | null;
  /** The message's HTML, or null. RTF-only bodies (compressed RTF) are not read. */
  html: string | null;
}

export class TnefError extends Error {}

/** Decodes 8-bit text in a Windows code page; the caller's decoder knows the charsets. */
export type CodepageDecoder = (bytes: Buffer, charset: string) => string;

/** Whether the bytes start like TNEF. */
export function isTnef(bytes: Buffer): boolean {
  return bytes.length >= 6 && bytes.readUInt32LE(0) === SIGNATURE;
}

interface FileDraft {
  title: string | null;
  longName: string | null;
  mimeTag: string | null;
  data: Buffer | null;
}

interface Property {
  id: number;
  type: number;
  values: Buffer[];
}

/** Reads a MAPI property list; stops at the first property it cannot read and keeps what came before. */
function readProperties(data: Buffer): Property[] {
  const properties: Property[] = [];
  if (data.length < 4) return properties;
  const count = data.readUInt32LE(0);
  let at = 4;
  const need = (bytes: number) => {
    if (at + bytes > data.length) throw new TnefError('property list ends early');
  };
  try {
    for (let i = 0; i < count && at < data.length; i++) {
      need(4);
      const type = data.readUInt16LE(at);
      const id = data.readUInt16LE(at + 2);
      at += 4;
      if (id >= 0x8000) {
        // Named property: a GUID, then a number or a name.
        need(20);
        const kind = data.readUInt32LE(at + 16);
        at += 20;
        if (kind === 0) {
          need(4);
          at += 4;
        } else {
          need(4);
          const length = data.readUInt32LE(at);
          at += 4 + length + ((4 - (length % 4)) % 4);
        }
      }
      const base = type & ~MULTI_VALUED;
      const variable = base === PT_STRING8 || base === PT_UNICODE || base === PT_BINARY || base === PT_OBJECT;
      let valueCount = 1;
      if (variable || (type & MULTI_VALUED) !== 0) {
        need(4);
        valueCount = data.readUInt32LE(at);
        at += 4;
      }
      const values: Buffer[] = [];
      for (let v = 0; v < valueCount; v++) {
        if (variable) {
          need(4);
          const length = data.readUInt32LE(at);
          at += 4;
          need(length);
          values.push(data.subarray(at, at + length));
          at += length + ((4 - (length % 4)) % 4);
        } else {
          const size = FIXED_SIZES.get(base);
          if (size === undefined) throw new TnefError(`unknown property type ${base}`);
          need(size);
          values.push(data.subarray(at, at + size));
          at += size;
        }
      }
      properties.push({ id, type: base, values });
    }
  } catch (error) {
    if (!(error instanceof TnefError)) throw error;
  }
  return properties;
}

function withoutNul(value: string): string {
  const end = value.indexOf('\0');
  return end < 0 ? value : value.slice(0, end);
}

/**
 * The files and body inside a TNEF stream. Throws TnefError when the bytes are not TNEF or an
 * attribute runs past the end; checksums are not enforced (Exchange writes some wrongly).
 */
export function readTnef(bytes: Buffer, decode: CodepageDecoder): TnefContent {
  if (!isTnef(bytes)) throw new TnefError('not a TNEF stream');
  let charset = 'windows-1252';
  const text8 = (value: Buffer) => withoutNul(decode(value, charset));
  const propertyText = (property: Property): string | null => {
    const value = property.values[0];
    if (!value) return null;
    if (property.type === PT_UNICODE) return withoutNul(value.toString('utf16le'));
    return text8(value);
  };
  const files: FileDraft[] = [];
  let text: string | null = null;
  let html: string | null = null;
  let at = 6;
  while (at < bytes.length) {
    if (at + 9 > bytes.length) throw new TnefError('attribute header ends early');
    const level = bytes.readUInt8(at);
    const id = bytes.readUInt32LE(at + 1) & 0xffff;
    const length = bytes.readUInt32LE(at + 5);
    const start = at + 9;
    if (start + length + 2 > bytes.length) throw new TnefError('attribute runs past the end');
    const data = bytes.subarray(start, start + length);
    at = start + length + 2;
    if (id === ATT_OEM_CODEPAGE && length >= 4) charset = `windows-${data.readUInt32LE(0)}`;
    else if (level === LEVEL_ATTACHMENT && id === ATT_ATTACH_REND_DATA)
      files.push({ title: null, longName: null, mimeTag: null, data: null });
    else if (level === LEVEL_ATTACHMENT) {
      const file = files.at(-1);
      if (!file) continue;
      if (id === ATT_ATTACH_TITLE) file.title = text8(data);
      else if (id === ATT_ATTACH_DATA) file.data = data;
      else if (id === ATT_ATTACHMENT) {
        for (const property of readProperties(data)) {
          if (property.id === PR_ATTACH_LONG_FILENAME) file.longName = propertyText(property);
          else if (property.id === PR_ATTACH_MIME_TAG) file.mimeTag = propertyText(property);
          else if (property.id === PR_ATTACH_DATA_BIN && property.type === PT_BINARY && !file.data)
            file.data = property.values[0] ?? null;
        }
      }
    } else if (id === ATT_BODY) text = text8(data);
    else if (id === ATT_MSG_PROPS) {
      for (const property of readProperties(data)) {
        if (property.id === PR_BODY && text === null) text = propertyText(property);
        else if (property.id === PR_BODY_HTML) {
          const value = property.values[0];
          if (value) html = property.type === PT_UNICODE ? propertyText(property) : text8(value);
        }
      }
    }
  }
  return {
    files: files
      .filter((file): file is FileDraft & { data: Buffer } => file.data !== null)
      .map((file) => ({
        filename: (file.longName || file.title || '').trim() || null,
        contentType: file.mimeTag?.trim().toLowerCase() || null,
        content: file.data,
      })),
    text: text?.trim() ? text : null,
    html: html?.trim() ? html : null,
  };
}
