import { describe, expect, it } from 'vitest';
import {
  assertHeaderSafe,
  assertMessageId,
  assertPlainAddress,
  flattenHeaderText,
  HeaderInjectionError,
} from '../../shared/acknowledgement/headerSafety.js';

describe('assertHeaderSafe', () => {
  it.each([
    'Printer broken\r\nBcc: victim@example.com',
    'Printer broken\nBcc: victim@example.com',
    'Printer broken\rBcc: victim@example.com',
    'Printer\u0000broken',
    'Printer\u000bbroken',
    'Printer\u2028broken',
    'Printer\u0085broken',
  ])('rejects %j', (value) => {
    expect(() => assertHeaderSafe('Subject', value)).toThrow(HeaderInjectionError);
  });

  it.each(['Printer broken', 'Drucker défekt – 打印机', 'tab\tinside', ''])('accepts %j', (value) => {
    expect(() => assertHeaderSafe('Subject', value)).not.toThrow();
  });

  it('names the header but not the value', () => {
    const error = (() => {
      try {
        assertHeaderSafe('Subject', 'x\r\nBcc: victim@example.com');
      } catch (caught) {
        return caught;
      }
      return null;
    })();
    expect(error).toBeInstanceOf(HeaderInjectionError);
    expect(error).toMatchObject({ name: 'HeaderInjectionError', header: 'Subject' });
    expect((error as Error).message).not.toContain('victim');
  });
});

describe('assertPlainAddress', () => {
  it.each(['a@b.example', 'first.last+tag@sub.example.com'])('accepts %s', (address) => {
    expect(() => assertPlainAddress('To', address)).not.toThrow();
  });

  it.each([
    'a@b.example, victim@example.com',
    'a@b.example;victim@example.com',
    'Name <a@b.example>',
    'a@b.example\r\nBcc: victim@example.com',
    'a b@example.com',
    'no-at-sign',
    '',
  ])('rejects %j', (address) => {
    expect(() => assertPlainAddress('To', address)).toThrow(HeaderInjectionError);
  });
});

describe('assertMessageId', () => {
  it.each([
    '<hmi.abc@helpdesk.example.com>',
    '<owner/repo/issues/42@github.com>',
    '<UNIQUEUUID@tech@glpi-project.org>',
  ])('accepts %s', (id) => {
    expect(() => assertMessageId('Message-ID', id)).not.toThrow();
  });

  it.each([
    'hmi.abc@helpdesk.example.com',
    '<a@b.example> <c@d.example>',
    '<a@b.example>\r\nBcc: victim@example.com',
    '<a@b.example\u0000>',
    '<a b@c.example>',
    '<a<b@c.example>',
    '<zażółć@c.example>',
    '<>',
  ])('rejects %j', (id) => {
    expect(() => assertMessageId('In-Reply-To', id)).toThrow(HeaderInjectionError);
  });
});

describe('flattenHeaderText', () => {
  it('turns line breaks and control characters into single spaces', () => {
    expect(flattenHeaderText(' Printer\r\n broken\u0000 now\u2028! ')).toBe('Printer broken now !');
  });
});
