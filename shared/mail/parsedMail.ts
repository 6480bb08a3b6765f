/** The product's own view of one parsed mail; nothing here depends on the parser library. */

export interface MailAddress {
  /** Lower-cased, trimmed address; empty when the header held no valid address. */
  address: string;
  name: string;
}

/** An attachment or inline part as seen while parsing. Only images keep their bytes. */
export interface ParsedAttachment {
  filename: string | null;
  /** The content type the mail declared. */
  contentType: string;
  /** The image type detected from the bytes (image/png, image/jpeg, image/gif, image/webp, image/bmp) or null. */
  detectedType: string | null;
  size: number;
  inline: boolean;
  /** Content-ID without angle brackets, if any. */
  contentId: string | null;
  sha256: string;
  /**
   * The type detected from the bytes of a kept file that is not an image (application/octet-stream
   * when unknown); null for images and for everything not kept.
   */
  detectedFileType: string | null;
  /** Bytes of an image (or, when all attachments are kept, any file) within the limits; else null. */
  content: Buffer | null;
  /** Why the bytes were not kept (not an image, too large, over the per-message limit). */
  reason: string | null;
  /** Where the attachment was archived when archiving was asked for (R12), else null. */
  archivedAs: string | null;
}

export interface ParsedMail {
  /** Message-ID with angle brackets, or null when the mail has none. */
  messageId: string | null;
  inReplyTo: string[];
  references: string[];
  from: MailAddress | null;
  replyTo: MailAddress[];
  to: MailAddress[];
  cc: MailAddress[];
  subject: string;
  /** ISO 8601 date from the Date header, or null. */
  date: string | null;
  /** Header names lower-cased; every occurrence kept in order, values unfolded and decoded. */
  headers: Record<string, string[]>;
  /** Top-level MIME type, e.g. multipart/report. */
  mimeType: string;
  /** Report type of a multipart/report, e.g. delivery-status, or null. */
  reportType: string | null;
  /** Whole decoded text body (from text/plain, or derived from HTML). */
  text: string;
  /** HTML body as sent (unsanitised) or null when the mail had none. */
  html: string | null;
  attachments: ParsedAttachment[];
  rawSize: number;
  rawSha256: string;
}
