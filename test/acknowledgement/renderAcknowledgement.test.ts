import { describe, expect, it } from 'vitest';
import {
  MAX_ECHOED_NAME,
  MAX_ECHOED_TITLE,
  renderAcknowledgement,
} from '../../shared/acknowledgement/acknowledgement.js';
import { assertHeaderSafe } from '../../shared/acknowledgement/headerSafety.js';
import { findTicketNumbers, formatTicketReference } from '../../shared/tickets/ticketNumber.js';

const placeholders = {
  ticketNumber: '123',
  title: 'Printer broken',
  contactName: 'Anna Kowalska',
  helpdeskName: 'Example IT Helpdesk',
};
const defaults = {
  subject: '[#{ticketNumber}] {title}',
  body: 'Dear {contactName},\n\nWe received your message and registered it as ticket {ticketNumber}.\n\n{helpdeskName}',
};
const separator = '==== reply above this line ====';

describe('renderAcknowledgement', () => {
  it('fills the default template', () => {
    expect(
      renderAcknowledgement({ template: defaults, separator, placeholders, ticketReference: '[#123]' }),
    ).toEqual({
      subject: '[#123] Printer broken',
      text: `${separator}\n\nDear Anna Kowalska,\n\nWe received your message and registered it as ticket 123.\n\nExample IT Helpdesk`,
    });
  });

  it('adds the ticket reference when the template lacks it', () => {
    const template = { subject: 'We received: {title}', body: 'Thanks' };
    const result = renderAcknowledgement({ template, separator, placeholders, ticketReference: '[HD-123]' });
    expect(result.subject).toBe('[HD-123] We received: Printer broken');
    expect(findTicketNumbers(result.subject, { ticketPrefix: 'HD', extraPatterns: [] })[0]).toBe(123);
  });

  it('adds the helpdesk-prefixed reference even when the default [#n] tag is there', () => {
    const result = renderAcknowledgement({
      template: defaults,
      separator,
      placeholders,
      ticketReference: '[HD-123]',
    });
    expect(result.subject).toBe('[HD-123] [#123] Printer broken');
  });

  it('flattens line breaks in placeholder values for the subject, not for the body', () => {
    const nasty = {
      ...placeholders,
      title: 'Printer\r\nBcc: victim@example.com',
      contactName: 'Anna\nKowalska',
    };
    const template = { subject: '[#{ticketNumber}] {title} for {contactName}', body: '{title}' };
    const result = renderAcknowledgement({
      template,
      separator: '',
      placeholders: nasty,
      ticketReference: '[#123]',
    });
    expect(result.subject).toBe('[#123] Printer Bcc: victim@example.com for Anna Kowalska');
    expect(() => assertHeaderSafe('Subject', result.subject)).not.toThrow();
    expect(result.text).toBe('Printer\nBcc: victim@example.com');
  });

  it('does not expand placeholders inside values', () => {
    const sneaky = { ...placeholders, title: '{helpdeskName} {ticketNumber}' };
    const result = renderAcknowledgement({
      template: defaults,
      separator: '',
      placeholders: sneaky,
      ticketReference: '[#123]',
    });
    expect(result.subject).toBe('[#123] {helpdeskName} {ticketNumber}');
  });

  it('leaves unknown placeholders alone', () => {
    const template = { subject: '{ticketNumber} {unknown}', body: '{Title} {title}' };
    const result = renderAcknowledgement({
      template,
      separator: '',
      placeholders,
      ticketReference: '[#123]',
    });
    expect(result.subject).toBe('[#123] 123 {unknown}');
    expect(result.text).toBe('{Title} Printer broken');
  });

  it('omits the separator block when the helpdesk has none, and keeps the body as is otherwise', () => {
    const result = renderAcknowledgement({
      template: { subject: '', body: 'Line 1\r\nLine 2' },
      separator: '',
      placeholders,
      ticketReference: formatTicketReference(123),
    });
    expect(result).toEqual({ subject: '[#123]', text: 'Line 1\nLine 2' });
  });

  it('puts the separator on the first line, as one line', () => {
    const result = renderAcknowledgement({
      template: defaults,
      separator: '--- reply above\r\nthis line ---',
      placeholders,
      ticketReference: '[#123]',
    });
    expect(result.text.split('\n')[0]).toBe('--- reply above this line ---');
  });

  it('backscatter: echoes at most a short title and display name, however long the attacker made them', () => {
    const spam = 'Cheap pills at https://spam.example/buy now '.repeat(10);
    const result = renderAcknowledgement({
      template: defaults,
      separator: '',
      placeholders: { ...placeholders, title: spam, contactName: `Visit 🎉${spam}` },
      ticketReference: '[#123]',
    });
    const echoedTitle = result.subject.slice('[#123] '.length);
    expect(Array.from(echoedTitle)).toHaveLength(MAX_ECHOED_TITLE);
    expect(echoedTitle.endsWith('…')).toBe(true);
    const greeting = result.text.split('\n')[0] ?? '';
    expect(Array.from(greeting.slice('Dear '.length, -1))).toHaveLength(MAX_ECHOED_NAME);
    expect(result.text).not.toContain(spam);
  });
});
