import { Readable } from 'node:stream';
import { BlobServiceClient } from '@azure/storage-blob';
import { beforeAll, describe, expect, it } from 'vitest';
import { BlobRawMailStore } from '../../shared/blob/blobMailStores.js';
import { testEnvironment } from '../support/testEnvironment.js';

/** Security review (issue 20, item 6): archived attachments never keep the sender's declared type. */

const env = testEnvironment();
let service: BlobServiceClient;
let store: BlobRawMailStore;

beforeAll(async () => {
  service = BlobServiceClient.fromConnectionString(env.AzureWebJobsStorage ?? '');
  await service.getContainerClient(env.RAW_MAIL_CONTAINER ?? '').createIfNotExists();
  await service.getContainerClient(env.KEPT_ASIDE_CONTAINER ?? '').createIfNotExists();
  store = new BlobRawMailStore(service, env.RAW_MAIL_CONTAINER ?? '', env.KEPT_ASIDE_CONTAINER ?? '');
});

async function archived(filename: string | null, contentType: string, content: string) {
  const name = await store.archiveAttachment(
    'desk',
    'main',
    'key1',
    { index: 0, filename, contentType },
    Readable.from([Buffer.from(content)]),
  );
  const blob = service.getContainerClient(env.RAW_MAIL_CONTAINER ?? '').getBlobClient(name);
  return { properties: await blob.getProperties(), content: (await blob.downloadToBuffer()).toString() };
}

describe('attack: an attachment declared text/html or image/svg+xml, served from the storage origin', () => {
  it('is stored as an opaque download, with the declared type in the blob metadata', async () => {
    const { properties, content } = await archived(
      'invoice.html',
      'text/html',
      '<script>alert(document.cookie)</script>',
    );
    expect(properties.contentType).toBe('application/octet-stream');
    expect(properties.contentDisposition).toBe(
      `attachment; filename="invoice.html"; filename*=UTF-8''invoice.html`,
    );
    expect(properties.metadata).toEqual({ declaredcontenttype: 'text/html' });
    expect(content).toBe('<script>alert(document.cookie)</script>');
  });

  it('an SVG with a non-ASCII, quoted name gets a header-safe disposition', async () => {
    const { properties } = await archived('Größe "final".svg', 'image/svg+xml', '<svg onload="alert(1)"/>');
    expect(properties.contentType).toBe('application/octet-stream');
    expect(properties.contentDisposition).toBe(
      `attachment; filename="Gr__e _final_.svg"; filename*=UTF-8''Gr%C3%B6%C3%9Fe%20%22final%22.svg`,
    );
    expect(properties.metadata?.declaredcontenttype).toBe('image/svg+xml');
  });

  it('a declared type that is not a header value is reduced to printable ASCII', async () => {
    const { properties } = await archived(null, 'text/htmlé\u0000', 'x');
    expect(properties.metadata?.declaredcontenttype).toBe('text/html');
    expect(properties.contentDisposition).toBe(
      `attachment; filename="attachment"; filename*=UTF-8''attachment`,
    );
  });
});
