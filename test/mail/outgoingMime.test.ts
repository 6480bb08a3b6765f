import { simpleParser } from 'mailparser';
import { describe, expect, it } from 'vitest';
import { HeaderInjectionError } from '../../shared/acknowledgement/headerSafety.js';
import { composeOutgoingMime, type OutgoingMimeInput } from '../../shared/mail/outgoingMime.js';
import { pngImage } from '../support/mail.js';

function input(overrides: Partial<OutgoingMimeInput> = {}): OutgoingMimeInput {
  return {
    from: { address: 'desk@helpdesk.example', name: 'Helpdesk' },
    to: [{ address: 'karin@customer.example', name: 'Karin Klant' }],
    cc: [{ address: 'cees@customer.example', name: '' }],
    subject: '[#123] Printer',
    text: 'Switch it off.',
    html: '<p>Switch it off.</p><p><img src="cid:shot.png"></p>',
    inlineImages: [
      { contentId: 'shot.png', filename: 'shot.png', contentType: 'image/png', content: pngImage(3) },
    ],
    messageId: '<hmi.0123@helpdesk.example>',
    inReplyTo: '<latest@customer.example>',
    references: ['<first@customer.example>', 'not an id', '<latest@customer.example>'],
    headers: { 'X-Helpdesk-Mail-Importer': 'agentReply' },
    date: new Date('2026-11-23T09:00:00Z'),
    ...overrides,
  };
}

describe('composeOutgoingMime', () => {
  it('writes every recipient, the threading headers and the inline image', async () => {
    const parsed = await simpleParser(await composeOutgoingMime(input()));
    expect(parsed.to).toMatchObject({ value: [{ address: 'karin@customer.example', name: 'Karin Klant' }] });
    expect(parsed.cc).toMatchObject({ value: [{ address: 'cees@customer.example' }] });
    expect(parsed.messageId).toBe('<hmi.0123@helpdesk.example>');
    expect(parsed.inReplyTo).toBe('<latest@customer.example>');
    // A malformed id only costs threading; it is left out.
    expect(parsed.references).toEqual(['<first@customer.example>', '<latest@customer.example>']);
    expect(parsed.headers.get('x-helpdesk-mail-importer')).toBe('agentReply');
    const [image] = parsed.attachments;
    expect(image).toMatchObject({ cid: 'shot.png', contentDisposition: 'inline', contentType: 'image/png' });
    expect(image?.content).toEqual(pngImage(3));
  });

  it('keeps the root and the newest of a long References chain', async () => {
    const references = Array.from({ length: 30 }, (_, i) => `<id${i}@customer.example>`);
    const parsed = await simpleParser(await composeOutgoingMime(input({ references })));
    expect(parsed.references).toHaveLength(20);
    expect(parsed.references?.[0]).toBe('<id0@customer.example>');
    expect(parsed.references?.at(-1)).toBe('<id29@customer.example>');
  });

  it.each([
    [
      'a name in Cc',
      { cc: [{ address: 'cees@customer.example', name: 'Cees\r\nBcc: x@evil.example' }] },
      'Cc',
    ],
    ['an address in To', { to: [{ address: 'a@b.example\nBcc: x@evil.example', name: '' }] }, 'To'],
    [
      'a header of ours',
      { headers: { 'X-Helpdesk-Mail-Importer': 'agentReply\r\nBcc: x@evil.example' } },
      'X-Helpdesk-Mail-Importer',
    ],
    ['a reference', { references: ['<a@b>\r\nBcc: x@evil.example'] }, 'References'],
    [
      'a Content-ID',
      {
        inlineImages: [
          { contentId: 'a\r\nX: y', filename: 'a.png', contentType: 'image/png', content: pngImage(1) },
        ],
      },
      'Content-ID',
    ],
  ])('refuses a line break in %s', async (_name, overrides, headerName) => {
    await expect(composeOutgoingMime(input(overrides))).rejects.toThrow(HeaderInjectionError);
    await expect(composeOutgoingMime(input(overrides))).rejects.toMatchObject({ header: headerName });
  });
});
