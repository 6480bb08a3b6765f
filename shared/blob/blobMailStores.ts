import type { Readable } from 'node:stream';
import { type BlobServiceClient, type ContainerClient, RestError } from '@azure/storage-blob';
import type { ImageStore, RawMailStore } from '../import/ports.js';

async function upload(
  container: ContainerClient,
  blobName: string,
  content: Buffer | Readable,
  contentType: string,
): Promise<string> {
  const blob = container.getBlockBlobClient(blobName);
  const blobHTTPHeaders = { blobContentType: contentType };
  if (Buffer.isBuffer(content)) {
    await blob.uploadData(content, { blobHTTPHeaders });
  } else {
    // Streamed in 4 MB blocks, so a large raw mail is never held whole in memory.
    await blob.uploadStream(content, 4 * 1024 * 1024, 2, { blobHTTPHeaders });
  }
  return blobName;
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
    return upload(
      this.archiveContainer,
      `${helpdeskId}/${mailboxId}/${messageKey}.eml`,
      raw,
      'message/rfc822',
    );
  }

  keepAside(
    helpdeskId: string,
    mailboxId: string,
    messageKey: string,
    raw: Buffer | Readable,
  ): Promise<string> {
    return upload(
      this.keptAsideContainer,
      `${helpdeskId}/${mailboxId}/${messageKey}.eml`,
      raw,
      'message/rfc822',
    );
  }

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
    return upload(this.archiveContainer, name, content, attachment.contentType);
  }

  async readKeptAside(blobName: string): Promise<Buffer> {
    return this.keptAsideContainer.getBlockBlobClient(blobName).downloadToBuffer();
  }
}
