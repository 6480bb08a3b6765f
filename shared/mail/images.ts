import { fileTypeFromBuffer } from 'file-type';

/** The only image types the product stores (R10). SVG is deliberately absent: it can carry script. */
export const IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'image/bmp'] as const;
export type ImageType = (typeof IMAGE_TYPES)[number];

/** How many leading bytes detection looks at: file-type needs 4100, a JPEG's frame header may follow 64 KB of metadata. */
export const IMAGE_SNIFF_BYTES = 68 * 1024;

const EXTENSIONS: Record<ImageType, string> = {
  'image/png': 'png',
  'image/jpeg': 'jpg',
  'image/gif': 'gif',
  'image/webp': 'webp',
  'image/bmp': 'bmp',
};

export function isImageType(value: string): value is ImageType {
  return (IMAGE_TYPES as readonly string[]).includes(value);
}

/**
 * The image type of a file judged by its first bytes only (never by name or declared type), or null
 * when it is not one of the stored image types. A signature is not enough ("BM" starts plenty of
 * text): the header after it must hold plausible, decodable dimensions too.
 */
export async function detectImageType(head: Uint8Array): Promise<ImageType | null> {
  if (head.length === 0) return null;
  let detected: string | undefined;
  try {
    detected = (await fileTypeFromBuffer(head.subarray(0, 4100)))?.mime;
  } catch {
    // A truncated or hostile header makes some detectors throw; that is simply "not an image".
    return null;
  }
  // An animated PNG is still a PNG file that every viewer shows.
  if (detected === 'image/apng') detected = 'image/png';
  if (detected === undefined || !isImageType(detected)) return null;
  return hasDimensions(detected, Buffer.from(head.buffer, head.byteOffset, head.byteLength))
    ? detected
    : null;
}

function positive(value: number): boolean {
  return value > 0;
}

/** Whether the header after the signature decodes to an image with a width and a height. */
export function hasDimensions(type: ImageType, bytes: Buffer): boolean {
  switch (type) {
    case 'image/png':
      return pngDimensions(bytes);
    case 'image/gif':
      return bytes.length >= 10 && positive(bytes.readUInt16LE(6)) && positive(bytes.readUInt16LE(8));
    case 'image/jpeg':
      return jpegDimensions(bytes);
    case 'image/webp':
      return webpDimensions(bytes);
    case 'image/bmp':
      return bmpDimensions(bytes);
  }
}

function pngDimensions(bytes: Buffer): boolean {
  // Signature, then the IHDR chunk first: length 13, width, height, bit depth, colour type.
  if (bytes.length < 26 || bytes.readUInt32BE(8) !== 13 || bytes.toString('latin1', 12, 16) !== 'IHDR') {
    return false;
  }
  const width = bytes.readUInt32BE(16);
  const height = bytes.readUInt32BE(20);
  const depth = bytes[24] ?? 0;
  const colour = bytes[25] ?? 0;
  const depths: Record<number, number[]> = {
    0: [1, 2, 4, 8, 16],
    2: [8, 16],
    3: [1, 2, 4, 8],
    4: [8, 16],
    6: [8, 16],
  };
  return (
    positive(width) &&
    width < 2 ** 31 &&
    positive(height) &&
    height < 2 ** 31 &&
    !!depths[colour]?.includes(depth)
  );
}

/** Metadata (EXIF, ICC) a JPEG may carry before its frame header, within what detection reads. */
const JPEG_METADATA_BYTES = 64 * 1024;

/** Frame header markers (SOF0–SOF15 without DHT, JPG and DAC). */
function isFrameHeader(marker: number): boolean {
  return marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
}

function jpegDimensions(bytes: Buffer): boolean {
  // Segment by segment from after SOI: each a marker and a length, up to the frame header.
  let at = 2;
  while (at + 4 <= bytes.length) {
    if (bytes[at] !== 0xff) return false;
    const marker = bytes[at + 1] ?? 0;
    if (marker === 0xff) {
      at++; // fill byte
      continue;
    }
    if (marker === 0xd8 || marker === 0xd9 || marker === 0xda || (marker >= 0xd0 && marker <= 0xd7))
      return false;
    const length = bytes.readUInt16BE(at + 2);
    if (length < 2) return false;
    if (isFrameHeader(marker)) {
      if (at + 9 > bytes.length) return true;
      return positive(bytes.readUInt16BE(at + 5)) && positive(bytes.readUInt16BE(at + 7));
    }
    at += 2 + length;
  }
  // Well-formed metadata segments through all that was read: the frame header lies beyond. A file
  // that ended before it has no frame at all.
  return bytes.length >= JPEG_METADATA_BYTES;
}

function webpDimensions(bytes: Buffer): boolean {
  if (bytes.length < 30 || bytes.toString('latin1', 8, 12) !== 'WEBP') return false;
  const chunk = bytes.toString('latin1', 12, 16);
  if (chunk === 'VP8 ') {
    // Key frame start code, then 14-bit width and height.
    if (bytes[23] !== 0x9d || bytes[24] !== 0x01 || bytes[25] !== 0x2a) return false;
    return positive(bytes.readUInt16LE(26) & 0x3fff) && positive(bytes.readUInt16LE(28) & 0x3fff);
  }
  // Lossless and extended headers store width and height minus one: any value decodes.
  if (chunk === 'VP8L') return bytes[20] === 0x2f;
  return chunk === 'VP8X';
}

/** DIB header sizes of the BMP versions viewers read. */
const BMP_HEADERS = new Set([12, 40, 52, 56, 64, 108, 124]);
const BMP_BITS = new Set([1, 4, 8, 16, 24, 32]);

function bmpDimensions(bytes: Buffer): boolean {
  if (bytes.length < 26) return false;
  const header = bytes.readUInt32LE(14);
  const dataOffset = bytes.readUInt32LE(10);
  if (!BMP_HEADERS.has(header) || dataOffset < 14 + header) return false;
  if (header === 12) {
    return (
      positive(bytes.readUInt16LE(18)) &&
      positive(bytes.readUInt16LE(20)) &&
      bytes.readUInt16LE(22) === 1 &&
      BMP_BITS.has(bytes.readUInt16LE(24))
    );
  }
  if (bytes.length < 30) return false;
  const width = bytes.readInt32LE(18);
  const height = bytes.readInt32LE(22);
  return (
    positive(width) && height !== 0 && bytes.readUInt16LE(26) === 1 && BMP_BITS.has(bytes.readUInt16LE(28))
  );
}

/** The type of any file from its first bytes; application/octet-stream when it is not recognised. */
export async function detectFileType(bytes: Uint8Array): Promise<string> {
  return (await fileTypeFromBuffer(bytes.subarray(0, 4100)))?.mime ?? 'application/octet-stream';
}

/** File extension (without dot) for a stored image type; null for anything else. */
export function imageExtension(type: string): string | null {
  return isImageType(type) ? EXTENSIONS[type] : null;
}
