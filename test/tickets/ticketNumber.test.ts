import { describe, expect, it } from 'vitest';
import {
  findTicketNumbers,
  formatTicketReference,
  stripReplyPrefixes,
} from '../../shared/tickets/ticketNumber.js';

const plain = { extraPatterns: [] };
const withPrefix = { ticketPrefix: 'HD', extraPatterns: [] };

describe('findTicketNumbers', () => {
  it.each([
    ['[#123] Printer broken', [123]],
    ['Printer broken [#123]', [123]],
    ['#123 Printer broken', [123]],
    ['Printer broken (#123)', [123]],
    ['Printer broken - #123', [123]],
    ['Ticket 123', [123]],
    ['Ticket#123', [123]],
    ['Ticket: 123', [123]],
    ['Ticket #123 still open', [123]],
    ['ticket-nr. 4711 update', [4711]],
    ['Ticketnummer 4711', [4711]],
    ['Ticket number: 88', [88]],
    ['Ticket n° 88', [88]],
    ['Ticket ID 88', [88]],
    ['Ihr Supportticket 4711 wurde aktualisiert', [4711]],
    ['Ticket 000123', [123]],
    ['[ # 123 ] spaced tag', [123]],
  ])('finds the number in %j', (subject, expected) => {
    expect(findTicketNumbers(subject, plain)).toEqual(expected);
  });

  it.each([
    ['RE: [#123] Printer broken', [123]],
    ['Re: Re: Re: [#123] Printer broken', [123]],
    ['RE[2]: [#123] Printer broken', [123]],
    ['Re(3): #123', [123]],
    ['AW: WG: [#77] Drucker defekt', [77]],
    ['Antw: Doorst: [#77] printer kapot', [77]],
    ['Odp: PD: [#77] Drukarka nie działa', [77]],
    ['SV: VS: [#77] Skrivare', [77]],
    ['TR: RE : [#77] Imprimante en panne', [77]],
    ['RV: ENC: [#77] Impresora', [77]],
    ['R: I: [#77] Stampante', [77]],
    ['Ynt: [#77] Yazıcı', [77]],
    ['回复：转发: [#77] 打印机', [77]],
    ['Отв: [#77] Принтер', [77]],
    ['[Fwd: [#77] printer]', [77]],
  ])('ignores reply prefixes in %j', (subject, expected) => {
    expect(findTicketNumbers(subject, plain)).toEqual(expected);
  });

  it.each([
    'Order #123 not delivered',
    'Invoice #55',
    'Bestellung #123',
    'Problem with printer #3',
    '[GLPI #0000123] New ticket',
    'Re: [GLPI #0001155] New ticket database issue',
    '[rt.example.com #42] Reply',
    'Call me at #020-1234567',
    'Ticket 12.05.2024 meeting',
    'Ticket 2024-05-01',
    'Version #1.2.3 released',
    'abc#123',
    '#123abc',
    'Room 123 is cold',
    'Tickets 5 and 6',
    'Ticketing 12',
    '&#123; entity',
    'Ticket #0',
    'Ticket 1234567890123 (too long)',
    'Re[2]: printer',
    '',
  ])('finds nothing in %j', (subject) => {
    expect(findTicketNumbers(subject, plain)).toEqual([]);
  });

  it('recognises the helpdesk prefix in its forms, case-insensitively', () => {
    expect(findTicketNumbers('[HD-123] Printer', withPrefix)).toEqual([123]);
    expect(findTicketNumbers('Re: HD-123 Printer', withPrefix)).toEqual([123]);
    expect(findTicketNumbers('HD#123', withPrefix)).toEqual([123]);
    expect(findTicketNumbers('about hd #123', withPrefix)).toEqual([123]);
    expect(findTicketNumbers('[HD 123]', withPrefix)).toEqual([123]);
  });

  it('does not take the prefix inside another word', () => {
    expect(findTicketNumbers('SHD-123 was shipped', withPrefix)).toEqual([]);
    expect(findTicketNumbers('HD-123 and XHD-9', withPrefix)).toEqual([123]);
  });

  it('does not use a prefix when none is configured', () => {
    expect(findTicketNumbers('HD-123', plain)).toEqual([]);
  });

  it('lists candidates by confidence: tags, extra patterns, ticket words, bare numbers', () => {
    const options = { ticketPrefix: 'HD', extraPatterns: [String.raw`\bcase\s+(\d+)`] };
    expect(findTicketNumbers('#5 ticket 4 case 3 HD-2 [#1]', options)).toEqual([1, 2, 3, 4, 5]);
    expect(findTicketNumbers('[#9] Re: ticket 9 and #9', options)).toEqual([9]);
  });

  it('orders equally confident candidates by position', () => {
    expect(findTicketNumbers('[#12] merged into [#34]', plain)).toEqual([12, 34]);
  });

  it('applies extra patterns case-insensitively and ignores non-numeric captures', () => {
    const options = { extraPatterns: [String.raw`Vorgang\s+(\d+)`, String.raw`ref:(\w+)`] };
    expect(findTicketNumbers('VORGANG 321 / ref:abc', options)).toEqual([321]);
    expect(findTicketNumbers('ref:12', options)).toEqual([12]);
  });

  it('survives extra patterns that can match the empty string', () => {
    expect(findTicketNumbers('Ticket 5', { extraPatterns: ['(\\d*)'] })).toEqual([5]);
  });

  it('only scans the start of very long subjects', () => {
    expect(findTicketNumbers(`${'x'.repeat(2000)} [#5]`, plain)).toEqual([]);
    expect(findTicketNumbers(`[#5] ${'x'.repeat(2000)}`, plain)).toEqual([5]);
  });
});

describe('stripReplyPrefixes', () => {
  it.each([
    ['RE: AW: Fwd: Hello', 'Hello'],
    ['Re[2]: Hello', 'Hello'],
    ['Re^2: Hello', 'Hello'],
    ['FW:Hello', 'Hello'],
    ['  wg :  Hello  ', 'Hello'],
    ['[Fwd: Hello]', 'Hello'],
    ['[Fwd: Hello [#5]]', 'Hello [#5]'],
    ['[Re: x] [#5]', 'x [#5]'],
    ['[Fwd: unclosed', 'unclosed'],
    ['回复: 你好', '你好'],
    ['Regarding: Hello', 'Regarding: Hello'],
    ['Trouble: printer', 'Trouble: printer'],
    ['Hello RE: again', 'Hello RE: again'],
    ['Re:', ''],
  ])('%j → %j', (subject, expected) => {
    expect(stripReplyPrefixes(subject)).toBe(expected);
  });
});

describe('formatTicketReference', () => {
  it('writes [#n] or [PREFIX-n]', () => {
    expect(formatTicketReference(123)).toBe('[#123]');
    expect(formatTicketReference(123, 'HD')).toBe('[HD-123]');
  });

  it('rejects values that would make a bad subject tag', () => {
    expect(() => formatTicketReference(0)).toThrow(RangeError);
    expect(() => formatTicketReference(1.5)).toThrow(RangeError);
    expect(() => formatTicketReference(5, 'H D')).toThrow(RangeError);
    expect(() => formatTicketReference(5, 'HD]\r\nBcc: x')).toThrow(RangeError);
  });

  it.each([
    [1, undefined],
    [123, undefined],
    [999999999999, undefined],
    [7, 'HD'],
    [4711, 'Support2'],
    [42, 'x'],
  ])('round-trips %i with prefix %s through a replied subject', (ticketNumber, ticketPrefix) => {
    const reference = formatTicketReference(ticketNumber, ticketPrefix);
    const options = ticketPrefix === undefined ? plain : { ticketPrefix, extraPatterns: [] };
    for (const subject of [
      `${reference} Printer broken`,
      `RE: AW: ${reference} Printer broken`,
      `Automatic reply: ${reference} Printer broken on #3`,
      `Order #99 ${reference}`,
    ]) {
      expect(findTicketNumbers(subject, options)[0]).toBe(ticketNumber);
    }
  });
});
