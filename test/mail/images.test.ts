import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { detectImageType } from '../../shared/mail/images.js';
import { parseMail } from '../../shared/mail/parseMail.js';
import { glpiCorpus } from '../support/fixtures.js';
import { pngImage } from '../support/mail.js';

/** Security review (issue 20, item 7): a file counts as an image only when its header decodes. */

function bmp(
  header: { dib?: number; width?: number; height?: number; planes?: number; bits?: number } = {},
): Buffer {
  const bytes = Buffer.alloc(70);
  bytes.write('BM', 0, 'latin1');
  bytes.writeUInt32LE(70, 2);
  bytes.writeUInt32LE(54, 10);
  bytes.writeUInt32LE(header.dib ?? 40, 14);
  bytes.writeInt32LE(header.width ?? 1, 18);
  bytes.writeInt32LE(header.height ?? -1, 22);
  bytes.writeUInt16LE(header.planes ?? 1, 26);
  bytes.writeUInt16LE(header.bits ?? 24, 28);
  return bytes;
}

describe('attack: anything starting with an image signature counted as an image', () => {
  it('"BM…" text is not a bitmap', async () => {
    expect(
      await detectImageType(Buffer.from('BMW X5 service report: brakes replaced, oil changed.\n'.repeat(20))),
    ).toBeNull();
    expect(await detectImageType(Buffer.concat([Buffer.from('BM'), Buffer.alloc(100)]))).toBeNull();
  });

  it('a bitmap header is read: known header size, width, height, one plane, a real bit depth', async () => {
    expect(await detectImageType(bmp())).toBe('image/bmp');
    expect(await detectImageType(bmp({ dib: 33 }))).toBeNull();
    expect(await detectImageType(bmp({ width: 0 }))).toBeNull();
    expect(await detectImageType(bmp({ height: 0 }))).toBeNull();
    expect(await detectImageType(bmp({ planes: 3 }))).toBeNull();
    expect(await detectImageType(bmp({ bits: 7 }))).toBeNull();
  });

  it('PNG, GIF, JPEG and WebP signatures followed by junk are not images', async () => {
    const png = pngImage(1);
    const junkPng = Buffer.concat([png.subarray(0, 8), Buffer.alloc(200)]);
    expect(await detectImageType(png)).toBe('image/png');
    expect(await detectImageType(junkPng)).toBeNull();
    const zeroWide = Buffer.from(png);
    zeroWide.writeUInt32BE(0, 16);
    expect(await detectImageType(zeroWide)).toBeNull();
    expect(await detectImageType(Buffer.concat([Buffer.from('GIF89a'), Buffer.alloc(200)]))).toBeNull();
    expect(
      await detectImageType(Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(300, 7)])),
    ).toBeNull();
    const riff = Buffer.concat([
      Buffer.from('RIFF'),
      Buffer.from([30, 0, 0, 0]),
      Buffer.from('WEBPVP8 '),
      Buffer.alloc(22),
    ]);
    expect(await detectImageType(riff)).toBeNull();
  });

  it('real images of the corpus are still images', async () => {
    const found: string[] = [];
    for (const file of [
      '18-image-on-multiple-lines.eml',
      '27-empty.eml',
      '15-image-with-no-content-disposition.eml',
    ]) {
      const mail = await parseMail(readFileSync(path.join(glpiCorpus, file)), {
        maxMessageBytes: 10_000_000,
        maxImageBytes: 10_000_000,
        maxImagesBytesPerMessage: 10_000_000,
      });
      for (const attachment of mail.attachments)
        if (attachment.detectedType) found.push(attachment.detectedType);
    }
    expect(found).toEqual(expect.arrayContaining(['image/gif', 'image/jpeg']));
  });

  it('a JPEG whose frame header follows 64 KB of metadata is an image, one that ends before it is not', async () => {
    const app1 = (length: number) =>
      Buffer.concat([Buffer.from([0xff, 0xe1, length >> 8, length & 0xff]), Buffer.alloc(length - 2)]);
    const frame = Buffer.from([0xff, 0xc0, 0, 11, 8, 0, 16, 0, 16, 1, 1, 0x11, 0]);
    const soi = Buffer.from([0xff, 0xd8]);
    expect(await detectImageType(Buffer.concat([soi, app1(60_000), frame]))).toBe('image/jpeg');
    const bigMetadata = Buffer.concat([soi, app1(65_000), app1(65_000), frame]);
    expect(await detectImageType(bigMetadata.subarray(0, 68 * 1024))).toBe('image/jpeg');
    expect(await detectImageType(Buffer.concat([soi, app1(2_000)]))).toBeNull();
    const zeroHigh = Buffer.concat([soi, Buffer.from([0xff, 0xc0, 0, 11, 8, 0, 0, 0, 16, 1, 1, 0x11, 0])]);
    expect(await detectImageType(zeroHigh)).toBeNull();
  });
});
