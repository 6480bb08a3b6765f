/**
 * Writes a valid TNEF stream (winmail.dat) as Outlook does for rich-text mail ([MS-OXTNEF]): message
 * attributes, then per file its rendering data, title, data and a MAPI property list with the long
 * file name and MIME type. Used to build test mails; nothing in the product writes TNEF.
 */

export interface TnefTestFile {
  filename: string;
  contentType: string;
  content: Buffer;
}

function attribute(level: number, id: number, type: number, data: Buffer): Buffer {
  const header = Buffer.alloc(9);
  header.writeUInt8(level, 0);
  header.writeUInt32LE(((type << 16) | id) >>> 0, 1);
  header.writeUInt32LE(data.length, 5);
  const checksum = Buffer.alloc(2);
  let sum = 0;
  for (const byte of data) sum = (sum + byte) & 0xffff;
  checksum.writeUInt16LE(sum, 0);
  return Buffer.concat([header, data, checksum]);
}

function uint32(value: number): Buffer {
  const buffer = Buffer.alloc(4);
  buffer.writeUInt32LE(value, 0);
  return buffer;
}

function padded(value: Buffer): Buffer {
  return Buffer.concat([uint32(value.length), value, Buffer.alloc((4 - (value.length % 4)) % 4)]);
}

/** A MAPI property list of variable-length values: [property id, property type, value]. */
function properties(list: Array<[number, number, Buffer]>): Buffer {
  const parts = [uint32(list.length)];
  for (const [id, type, value] of list) {
    const tag = Buffer.alloc(4);
    tag.writeUInt16LE(type, 0);
    tag.writeUInt16LE(id, 2);
    parts.push(tag, uint32(1), padded(value));
  }
  return Buffer.concat(parts);
}

export function tnef(options: { body?: string; html?: string; files: TnefTestFile[] }): Buffer {
  const message = 0x01;
  const attachment = 0x02;
  const parts = [uint32(0x223e9f78), Buffer.from([0x01, 0x00])];
  parts.push(attribute(message, 0x9006, 0x0008, uint32(0x00010000)));
  parts.push(attribute(message, 0x9007, 0x0006, Buffer.concat([uint32(1252), uint32(0)])));
  parts.push(attribute(message, 0x8008, 0x0007, Buffer.from('IPM.Microsoft Mail.Note\0', 'latin1')));
  if (options.body !== undefined)
    parts.push(attribute(message, 0x800c, 0x0002, Buffer.from(`${options.body}\0`, 'latin1')));
  if (options.html !== undefined) {
    const props = properties([[0x1013, 0x0102, Buffer.from(options.html, 'latin1')]]);
    parts.push(attribute(message, 0x9003, 0x0006, props));
  }
  for (const file of options.files) {
    parts.push(attribute(attachment, 0x9002, 0x0006, Buffer.alloc(14)));
    const shortName = `${file.filename.slice(0, 8)}\0`;
    parts.push(attribute(attachment, 0x8010, 0x0001, Buffer.from(shortName, 'latin1')));
    parts.push(attribute(attachment, 0x800f, 0x0006, file.content));
    const props = properties([
      [0x3707, 0x001f, Buffer.from(`${file.filename}\0`, 'utf16le')],
      [0x370e, 0x001e, Buffer.from(`${file.contentType}\0`, 'latin1')],
    ]);
    parts.push(attribute(attachment, 0x9005, 0x0006, props));
  }
  return Buffer.concat(parts);
}

/** A tiny but well-formed PDF. */
export const tinyPdf = Buffer.from(
  '%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n',
  'latin1',
);
