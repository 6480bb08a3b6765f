import { describe, expect, it } from 'vitest';
import { parseMail } from '../../shared/mail/parseMail.js';
import { readTnef, TnefError } from '../../shared/mail/tnef.js';
import { pngImage, rawMail } from '../support/mail.js';
import { tinyPdf as PDF, tnef } from '../support/tnef.js';

const limits = {
  maxMessageBytes: 40_000_000,
  maxImageBytes: 10_000_000,
  maxImagesBytesPerMessage: 30_000_000,
};

const FILES = [
  { filename: 'Schermafbeelding printer.png', contentType: 'image/png', content: pngImage(1) },
  { filename: 'foutmelding-lange-naam.png', contentType: 'image/png', content: pngImage(2) },
  { filename: 'Offerte 2026.pdf', contentType: 'application/pdf', content: PDF },
];

function winmailMail(options: { text?: string; body?: string; html?: string }) {
  return rawMail({
    from: 'Karin <karin@customer.example>',
    subject: 'Printer',
    ...(options.text === undefined ? {} : { text: options.text }),
    attachments: [
      {
        filename: 'winmail.dat',
        contentType: 'application/ms-tnef',
        content: tnef({ files: FILES, body: options.body, html: options.html }),
      },
    ],
  });
}

describe('readTnef', () => {
  it('reads the files with their long names and types, and the body', () => {
    const content = readTnef(tnef({ files: FILES, body: 'Hallo' }), (bytes) => bytes.toString('latin1'));
    expect(content.files.map((file) => [file.filename, file.contentType, file.content.length])).toEqual(
      FILES.map((file) => [file.filename, file.contentType, file.content.length]),
    );
    expect(content.files[2]?.content.equals(PDF)).toBe(true);
    expect(content.text).toBe('Hallo');
  });

  it('refuses what is not TNEF and TNEF cut short', () => {
    const decode = (bytes: Buffer) => bytes.toString('latin1');
    expect(() => readTnef(Buffer.from('not tnef at all'), decode)).toThrow(TnefError);
    const whole = tnef({ files: FILES });
    expect(() => readTnef(whole.subarray(0, whole.length - 100), decode)).toThrow(TnefError);
  });
});

describe('parseMail with winmail.dat', () => {
  it('unpacks the files as attachments: images kept, the PDF listed; the mail text wins', async () => {
    const mail = await parseMail(
      await winmailMail({ text: 'See the screenshots.', body: 'TNEF body' }),
      limits,
    );
    expect(mail.text.trim()).toBe('See the screenshots.');
    expect(mail.attachments.map((a) => [a.filename, a.detectedType, a.content !== null])).toEqual([
      ['Schermafbeelding printer.png', 'image/png', true],
      ['foutmelding-lange-naam.png', 'image/png', true],
      ['Offerte 2026.pdf', null, false],
    ]);
    expect(mail.attachments[2]?.contentType).toBe('application/pdf');
    expect(mail.attachments[2]?.size).toBe(PDF.length);
  });

  it('takes the body from winmail.dat when the mail has no other', async () => {
    const text = await parseMail(await winmailMail({ body: 'Only in TNEF.' }), limits);
    expect(text.text.trim()).toBe('Only in TNEF.');
    const html = await parseMail(await winmailMail({ html: '<p>HTML in TNEF</p>' }), limits);
    expect(html.html).toBe('<p>HTML in TNEF</p>');
    expect(html.text.trim()).toBe('HTML in TNEF');
  });

  it('keeps an unreadable winmail.dat as a plain attachment', async () => {
    const raw = await rawMail({
      from: 'karin@customer.example',
      subject: 'Broken',
      text: 'x',
      attachments: [
        { filename: 'winmail.dat', contentType: 'application/ms-tnef', content: Buffer.from('garbage') },
      ],
    });
    const mail = await parseMail(raw, limits);
    expect(mail.attachments.map((a) => [a.filename, a.size])).toEqual([['winmail.dat', 7]]);
  });
});

describe('parseMail with attachments.keep "all"', () => {
  it('keeps every file within the limits with the type detected from its bytes', async () => {
    const mail = await parseMail(await winmailMail({ text: 'x' }), { ...limits, keep: 'all' });
    expect(
      mail.attachments.map((a) => [a.filename, a.detectedType, a.detectedFileType, a.content?.length]),
    ).toEqual([
      ['Schermafbeelding printer.png', 'image/png', null, FILES[0]?.content.length],
      ['foutmelding-lange-naam.png', 'image/png', null, FILES[1]?.content.length],
      ['Offerte 2026.pdf', null, 'application/pdf', PDF.length],
    ]);
  });

  it('drops the bytes of a file over the limits and says why; "images" keeps no other file', async () => {
    const small = await parseMail(await winmailMail({ text: 'x' }), {
      ...limits,
      keep: 'all',
      maxImageBytes: 100,
    });
    expect(small.attachments[2]).toMatchObject({
      content: null,
      detectedFileType: null,
      reason: 'attachment larger than maxImageBytes',
    });
    const images = await parseMail(await winmailMail({ text: 'x' }), limits);
    expect(images.attachments[2]).toMatchObject({
      content: null,
      detectedFileType: null,
      reason: 'not an image',
    });
  });
});
