import { describe, expect, it } from 'vitest';
import { chooseRecipients, type RecipientInput } from '../../shared/replies/recipients.js';

const karin = { address: 'karin@customer.example', name: 'Karin Klant' };
const base: RecipientInput = {
  contact: karin,
  ownAddresses: ['desk@helpdesk.example', 'sales@helpdesk.example'],
};

describe('chooseRecipients', () => {
  it('answers the ticket’s contact by default', () => {
    expect(chooseRecipients(base)).toEqual({ ok: true, to: [karin], cc: [] });
  });

  it('takes given addresses instead, the contact’s name kept, duplicates and To addresses out of the Cc', () => {
    const chosen = chooseRecipients({
      ...base,
      to: [' Karin@Customer.example ', 'cees@customer.example'],
      cc: ['KARIN@customer.example', 'boss@customer.example', 'boss@customer.example'],
    });
    expect(chosen).toEqual({
      ok: true,
      to: [
        { address: 'Karin@Customer.example', name: 'Karin Klant' },
        { address: 'cees@customer.example', name: '' },
      ],
      cc: [{ address: 'boss@customer.example', name: '' }],
    });
  });

  it.each([
    [{ to: ['noreply@customer.example'] }, 'body.to.0', 'no-reply'],
    [{ cc: ['ok@customer.example', 'mailer-daemon@customer.example'] }, 'body.cc.1', 'mail system'],
    [{ cc: ['Sales@Helpdesk.example'] }, 'body.cc.0', 'own mailboxes'],
    [{ to: ['karin@customer.example\r\nBcc: x@evil.example'] }, 'body.to.0', 'plain mail address'],
    [{ to: ['"Karin" <karin@customer.example>'] }, 'body.to.0', 'plain mail address'],
  ])('refuses %j, naming %s', (given, field, reason) => {
    const chosen = chooseRecipients({ ...base, ...given });
    expect(chosen).toMatchObject({ ok: false, field });
    expect(chosen.ok ? '' : chosen.reason).toContain(reason);
  });

  it('refuses a default that cannot be answered, asking for to', () => {
    expect(chooseRecipients({ ...base, contact: null })).toMatchObject({ ok: false, field: 'body.to' });
    expect(
      chooseRecipients({ ...base, contact: { address: 'do-not-reply@shop.example', name: 'Shop' } }),
    ).toMatchObject({ ok: false, field: 'body.to' });
  });
});
