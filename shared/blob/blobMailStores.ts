import type { Readable } from 'node:stream';
import {
  type BlobHTTPHeaders,
  type BlobServiceClient,
  type ContainerClient,
  RestError,
} from '@azure/storage-blob';
import type { ImageStore, RawMailStore } from '../import/ports.js';

async function upload(
  container: ContainerClient,
  blobName: string,
  content: Buffer | Readable,
  blobHTTPHeaders: BlobHTTPHeaders,
  metadata?: Record<string, string>,
): Promise<string> {
  const blob = container.getBlockBlobClient(blobName);
  const options = { blobHTTPHeaders, ...(metadata ? { metadata } : {}) };
  if (Buffer.isBuffer(content)) {
    await blob.uploadData(content, options);
  } else {
    // Streamed in 4 MB blocks, so a large raw mail is never held whole in memory.
    await blob.uploadStream(content, 4 * 1024 * 1024, 2, options);
  }
  return blobName;
}

/** Printable ASCII only, as an HTTP header value must be; at most `max` characters. */
function headerValue(value: string, max: number): string {
  return value.replace(/[^\x20-\x7e]/g, '').slice(0, max);
}

/** `attachment` with the file name in RFC 6266 form: an ASCII fallback and the UTF-8 name. */
export function attachmentDisposition(name: string): string {
  // Through UTF-8 and back: a lone surrogate becomes U+FFFD instead of failing the encoding below.
  const filename = Buffer.from(name, 'utf8').toString('utf8');
  const fallback = filename.replace(/[^\x20-\x7e]|["\\]/g, '_');
  const encoded = encodeURIComponent(filename).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `attachment; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}

/** Images in a private container, named by content hash under their ticket: dedup within a ticket. */
export class BlobImageStore implements ImageStore {
  private readonly container: ContainerClient;

  constructor(service: BlobServiceClient, containerName: string) {
    this.container = service.getContainerClient(containerName);
  }

  async putImage(input: {
    helpdeskId: string;
    ticketNumber: number;
    content: Buffer;
    contentType: string;
    sha256: string;
    extension: string;
  }): Promise<string> {
    const name = `${input.helpdeskId}/${input.ticketNumber}/${input.sha256}.${input.extension}`;
    // One request, written only when no blob has this name yet. Same name means same bytes, so an image
    // already stored (same ticket, or a retried job) is left as it is: 409 BlobAlreadyExists.
    try {
      await this.container.getBlockBlobClient(name).upload(input.content, input.content.length, {
        blobHTTPHeaders: { blobContentType: input.contentType },
        conditions: { ifNoneMatch: '*' },
      });
    } catch (error) {
      if (!(error instanceof RestError && (error.statusCode === 409 || error.statusCode === 412)))
        throw error;
    }
    return name;
  }

  async openImage(
    helpdeskId: string,
    ticketNumber: number,
    name: string,
  ): Promise<{ content: Readable; size: number; contentType: string } | null> {
    try {
      const download = await this.container
        .getBlockBlobClient(`${helpdeskId}/${ticketNumber}/${name}`)
        .download();
      if (!download.readableStreamBody) return null;
      return {
        content: download.readableStreamBody as Readable,
        size: download.contentLength ?? 0,
        contentType: download.contentType ?? 'application/octet-stream',
      };
    } catch (error) {
      if (error instanceof RestError && error.statusCode === 404) return null;
      throw error;
    }
  }
}

export class BlobRawMailStore implements RawMailStore {
  private readonly archiveContainer: ContainerClient;
  private readonly keptAsideContainer: ContainerClient;

  constructor(service: BlobServiceClient, archiveContainerName: string, keptAsideContainerName: string) {
    this.archiveContainer = service.getContainerClient(archiveContainerName);
    this.keptAsideContainer = service.getContainerClient(keptAsideContainerName);
  }

  archive(
    helpdeskId: string,
    mailboxId: string,
    messageKey: string,
    raw: Buffer | Readable,
  ): Promise<string> {
    return upload(this.archiveContainer, `${helpdeskId}/${mailboxId}/${messageKey}.eml`, raw, {
      blobContentType: 'message/rfc822',
    });
  }

  keepAside(
    helpdeskId: string,
    mailboxId: string,
    messageKey: string,
    raw: Buffer | Readable,
  ): Promise<string> {
    return upload(this.keptAsideContainer, `${helpdeskId}/${mailboxId}/${messageKey}.eml`, raw, {
      blobContentType: 'message/rfc822',
    });
  }

  /**
   * Stored as an opaque download whatever the sender declared: served as `text/html` or
   * `image/svg+xml`, an attachment would run in the storage account's origin. The declared type is
   * kept in the blob's metadata (`declaredcontenttype`).
   */
  archiveAttachment(
    helpdeskId: string,
    mailboxId: string,
    messageKey: string,
    attachment: { index: number; filename: string | null; contentType: string },
    content: Readable,
  ): Promise<string> {
    // The index keeps names unique; the file name is reduced to safe characters for a blob path.
    const safeName = (attachment.filename ?? 'attachment').replace(/[^\p{L}\p{N}._-]+/gu, '_').slice(0, 100);
    const name = `${helpdeskId}/${mailboxId}/${messageKey}/attachments/${attachment.index}-${safeName}`;
    return upload(
      this.archiveContainer,
      name,
      content,
      {
        blobContentType: 'application/octet-stream',
        blobContentDisposition: attachmentDisposition((attachment.filename ?? safeName).slice(0, 200)),
      },
      { declaredcontenttype: headerValue(attachment.contentType, 255) },
    );
  }

  async readKeptAside(blobName: string): Promise<Buffer> {
    return this.keptAsideContainer.getBlockBlobClient(blobName).downloadToBuffer();
  }

  async openRaw(
    helpdeskId: string,
    mailboxId: string,
    messageKey: string,
  ): Promise<{ content: Readable; size: number } | null> {
    const name = `${helpdeskId}/${mailboxId}/${messageKey}.eml`;
    // The kept-aside copy first: it stays after a retry, and exists when archiving is off.
    for (const container of [this.keptAsideContainer, this.archiveContainer]) {
      try {
        const download = await container.getBlockBlobClient(name).download();
        if (!download.readableStreamBody) continue;
        return {
          content: download.readableStreamBody as Readable,
          size: download.contentLength ?? 0,
        };
      } catch (error) {
        if (error instanceof RestError && error.statusCode === 404) continue;
        throw error;
      }
    }
    return null;
  }
}
