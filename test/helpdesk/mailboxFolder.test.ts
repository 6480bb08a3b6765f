import { describe, expect, it } from 'vitest';
import { mailFolderReference } from '../../shared/graph/mailFolders.js';
import { mailboxSettingsSchema } from '../../shared/helpdesk/settings.js';

const FOLDER_ID = 'AAMkAGI2TGuLAAAuAAAAAAAiQ8W967B7TKBjgx9rVEURAQAiIsqMbYjsT5e-T7KzowPTAAABuC5sAAA=';

describe('the mailbox folder setting', () => {
  it.each(['..', '.', ' .. ', 'in\u0000box', ''])('path traversal: refuses %j', (folder) => {
    const result = mailboxSettingsSchema.safeParse({ id: 'main', userId: 'desk@contoso.test', folder });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(['folder']);
  });

  it.each([
    ['inbox', 'wellKnown'],
    ['Inbox', 'wellKnown'],
    ['JunkEmail', 'wellKnown'],
    [FOLDER_ID, 'id'],
    ['Support requests', 'displayName'],
    ['../inbox', 'displayName'],
    ['Archive 2024/Q1', 'displayName'],
  ])('accepts %s as a %s', (folder, kind) => {
    expect(mailboxSettingsSchema.parse({ id: 'main', userId: 'desk@contoso.test', folder }).folder).toBe(
      folder,
    );
    expect(mailFolderReference(folder).kind).toBe(kind);
  });

  it('defaults to the inbox', () => {
    expect(mailboxSettingsSchema.parse({ id: 'main', userId: 'desk@contoso.test' }).folder).toBe('inbox');
  });
});
