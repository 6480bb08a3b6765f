import { fileTypeFromBuffer } from 'file-type';

/** The only image types the product stores (R10). SVG is deliberately absent: it can carry script. */
export const IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'image/bmp'] as const;
export type ImageType = (typeof IMAGE_TYPES)[number];

/** How many leading bytes detection looks at; file-type needs no more for these formats. */
export const IMAGE_SNIFF_BYTES = 4100;

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
 * The image type of a file judged by its first bytes only (never by name or declared type),
 * or null when it is not one of the stored image types.
 */
export async function detectImageType(head: Uint8Array): Promise<ImageType | null> {
  if (head.length === 0) return null;
  let detected: string | undefined;
  try {
    detected = (await fileTypeFromBuffer(head.subarray(0, IMAGE_SNIFF_BYTES)))?.mime;
  } catch {
    // A truncated or hostile header makes some detectors throw; that is simply "not an image".
    return null;
  }
  // An animated PNG is still a PNG file that every viewer shows.
  if (detected === 'image/apng') return 'image/png';
  return detected !== undefined && isImageType(detected) ? detected : null;
}

/** File extension (without dot) for a stored image type; null for anything else. */
export function imageExtension(type: string): string | null {
  return isImageType(type) ? EXTENSIONS[type] : null;
}
