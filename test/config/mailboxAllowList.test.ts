import { describe, expect, it } from 'vitest';
import { mailboxAllowed, parseMailboxAllowList } from '../../shared/config/mailboxAllowList.js';

const USER_ID = '5f0c9a1e-27b4-4d7e-9c51-0a3e2f6b8d10';

describe('the mailbox allow-list', () => {
  const list = parseMailboxAllowList(
    `servicedesk@contoso.com; @support.contoso.com, ${USER_ID.toUpperCase()}`,
  );

  it.each([
    ['servicedesk@contoso.com', true],
    ['ServiceDesk@Contoso.COM', true],
    ['anyone@support.contoso.com', true],
    [USER_ID, true],
    ['ceo@contoso.com', false],
    ['ceo@fabrikam.com', false],
    ['desk@sub.support.contoso.com', false],
    ['servicedesk@contoso.com.evil.example', false],
    ['00000000-0000-0000-0000-000000000000', false],
    ['contoso.com', false],
  ])('mailbox takeover: %s allowed → %s', (userId, allowed) => {
    expect(mailboxAllowed(list, userId)).toBe(allowed);
  });

  it('allows any mailbox only with *', () => {
    expect(mailboxAllowed(parseMailboxAllowList('*'), 'ceo@fabrikam.com')).toBe(true);
  });

  it.each(['', ' ; ', 'contoso', 'desk@', 'desk@@contoso.com', 'http://contoso.com'])(
    'refuses %j',
    (setting) => {
      expect(() => parseMailboxAllowList(setting)).toThrow();
    },
  );
});
