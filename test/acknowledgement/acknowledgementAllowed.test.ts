import { describe, expect, it } from 'vitest';
import type { AcknowledgementAllowedInput } from '../../shared/acknowledgement/acknowledgement.js';
import { acknowledgementAllowed } from '../../shared/acknowledgement/acknowledgement.js';

function input(overrides: Partial<AcknowledgementAllowedInput> = {}): AcknowledgementAllowedInput {
  return {
    classification: { kind: 'normal', reasons: [] },
    sender: 'anna@customer.example',
    ownAddresses: ['helpdesk@example.com'],
    senderAuthentication: { authenticated: true, reason: 'dmarc=pass for customer.example' },
    sentToSender: { lastHour: 0, lastDay: 0 },
    sentByHelpdesk: { lastHour: 0 },
    limits: { maxPerSenderPerHour: 5, maxPerSenderPerDay: 20, maxPerHelpdeskPerHour: 100 },
    ...overrides,
  };
}

describe('acknowledgementAllowed', () => {
  it('allows a normal mail from a person within the limits', () => {
    expect(acknowledgementAllowed(input())).toEqual({ allowed: true, reason: expect.any(String) });
  });

  it.each(['autoReply', 'bounce', 'bulk', 'ownMail'] as const)('refuses %s mail', (kind) => {
    const verdict = acknowledgementAllowed(input({ classification: { kind, reasons: ['x'] } }));
    expect(verdict).toEqual({ allowed: false, reason: expect.stringContaining(kind) });
  });

  it('refuses our own mailboxes, whatever the case', () => {
    expect(acknowledgementAllowed(input({ sender: 'HelpDesk@Example.com' }))).toEqual({
      allowed: false,
      reason: expect.stringContaining('own mailboxes'),
    });
  });

  it.each([
    'noreply@shop.example',
    'do-not-reply@bank.example',
    'MAILER-DAEMON@mx.example',
    'postmaster@mx.example',
  ])('refuses %s', (sender) => {
    expect(acknowledgementAllowed(input({ sender }))).toMatchObject({
      allowed: false,
      reason: expect.stringContaining('no-reply'),
    });
  });

  it.each(['', '   ', 'not an address'])('refuses the unusable sender %j', (sender) => {
    expect(acknowledgementAllowed(input({ sender }))).toMatchObject({ allowed: false });
  });

  it('stops at the hourly limit', () => {
    expect(acknowledgementAllowed(input({ sentToSender: { lastHour: 4, lastDay: 4 } })).allowed).toBe(true);
    expect(acknowledgementAllowed(input({ sentToSender: { lastHour: 5, lastDay: 5 } }))).toEqual({
      allowed: false,
      reason: expect.stringContaining('last hour'),
    });
  });

  it('stops at the daily limit', () => {
    expect(acknowledgementAllowed(input({ sentToSender: { lastHour: 0, lastDay: 20 } }))).toEqual({
      allowed: false,
      reason: expect.stringContaining('last day'),
    });
  });

  it('sends nothing when a limit is 0', () => {
    const limits = { maxPerSenderPerHour: 0, maxPerSenderPerDay: 20, maxPerHelpdeskPerHour: 100 };
    expect(acknowledgementAllowed(input({ limits })).allowed).toBe(false);
  });

  it('backscatter: refuses a sender the receiving server did not authenticate', () => {
    const verdict = acknowledgementAllowed(
      input({ senderAuthentication: { authenticated: false, reason: 'no dmarc pass for victim.example' } }),
    );
    expect(verdict).toEqual({ allowed: false, reason: expect.stringContaining('victim.example') });
  });

  it('backscatter: stops at the per-helpdesk hourly cap whatever the sender', () => {
    expect(acknowledgementAllowed(input({ sentByHelpdesk: { lastHour: 99 } })).allowed).toBe(true);
    expect(acknowledgementAllowed(input({ sentByHelpdesk: { lastHour: 100 } }))).toEqual({
      allowed: false,
      reason: expect.stringContaining('limit 100'),
    });
  });
});
