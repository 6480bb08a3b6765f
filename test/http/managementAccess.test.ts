import { HttpRequest } from '@azure/functions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importerSettingsHandler } from '../../functions/importerSettings.js';
import { importerStatusHandler } from '../../functions/importerStatus.js';
import { keptAsideMessagesHandler, resolveMessageHandler } from '../../functions/keptAsideMessages.js';
import type { Helpdesk } from '../../shared/helpdesk/settings.js';
import { mailboxKey } from '../../shared/import/mailRecord.js';
import { invocation, runTimerAndDrainQueue } from '../support/functionRuns.js';
import { testHelpdesk } from '../support/helpdeskFixtures.js';
import { type ImportScenario, seedHelpdesk, startImportScenario } from '../support/importScenario.js';
import { rawMail } from '../support/mail.js';

/**
 * Management calls as deployed: Entra ID through App Service authentication, each helpdesk admitting
 * its own administrators, mailboxes only within the deploy-time allow-list. Through the function
 * handlers against the emulators.
 */

const ALPHA_ADMINS = '0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0';
const BETA_ADMINS = '9f8e7d6c-5b4a-3928-1706-f5e4d3c2b1a0';

const alpha: Helpdesk = testHelpdesk('alpha', 'desk@alpha.test', {
  administrators: { groupIds: [ALPHA_ADMINS] },
});
const beta: Helpdesk = testHelpdesk('beta', 'desk@beta.test', {
  administrators: { groupIds: [BETA_ADMINS] },
});
/** Written around the API (seeding, an older allow-list): its mailbox is outside the list. */
const stray: Helpdesk = testHelpdesk('stray', 'ceo@board.test', {
  administrators: { groupIds: [ALPHA_ADMINS] },
});

let scenario: ImportScenario;

beforeAll(async () => {
  scenario = await startImportScenario({
    MANAGEMENT_AUTH: 'entra',
    WEBSITE_AUTH_ENABLED: 'True',
    ALLOWED_MAILBOXES: 'alpha.test, desk@beta.test',
  });
  for (const helpdesk of [alpha, beta, stray]) await seedHelpdesk(scenario, helpdesk);
});

afterAll(async () => {
  await scenario?.local.close();
});

function principal(group: string): string {
  return Buffer.from(
    JSON.stringify({
      auth_typ: 'aad',
      claims: [
        { typ: 'http://schemas.microsoft.com/identity/claims/objectidentifier', val: `user-of-${group}` },
        { typ: 'name', val: 'An Administrator' },
        { typ: 'groups', val: group },
      ],
      name_typ: 'name',
      role_typ: 'roles',
    }),
  ).toString('base64');
}

function request(
  method: string,
  helpdeskId: string,
  path: string,
  group: string | null,
  body?: unknown,
  params: Record<string, string> = {},
) {
  return new HttpRequest({
    method,
    url: `http://localhost/api/helpdesks/${helpdeskId}/${path}`,
    params: { helpdeskId, ...params },
    headers: {
      ...(group ? { 'x-ms-client-principal': principal(group) } : {}),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: { string: JSON.stringify(body) } }),
  });
}

describe('who may manage a helpdesk', () => {
  it('function-key holder: a call with no signed-in caller gets 401 with a code and correlation id', async () => {
    const context = invocation('importerSettings');
    const response = await importerSettingsHandler(request('GET', 'alpha', 'importer', null), context);
    expect(response.status).toBe(401);
    expect(response.jsonBody).toEqual({
      error: { code: 'unauthenticated', message: expect.any(String), correlationId: context.invocationId },
    });
  });

  it('admits the helpdesk’s own administrators', async () => {
    const response = await importerStatusHandler(
      request('GET', 'alpha', 'importer/status', ALPHA_ADMINS),
      invocation('importerStatus'),
    );
    expect(response.status).toBe(200);
  });

  it('cross-helpdesk: an administrator of alpha may not read, change or list beta (403)', async () => {
    const calls = [
      importerSettingsHandler(
        request('GET', 'beta', 'importer', ALPHA_ADMINS),
        invocation('importerSettings'),
      ),
      importerSettingsHandler(
        request('PUT', 'beta', 'importer', ALPHA_ADMINS, beta.importer),
        invocation('importerSettings'),
      ),
      keptAsideMessagesHandler(
        request('GET', 'beta', 'messages', ALPHA_ADMINS),
        invocation('keptAsideMessages'),
      ),
      importerStatusHandler(request('GET', 'nosuchdesk', 'importer/status', ALPHA_ADMINS), invocation('x')),
    ];
    for (const response of await Promise.all(calls)) {
      expect(response.status).toBe(403);
      expect(response.jsonBody).toMatchObject({ error: { code: 'forbidden' } });
    }
  });
});

describe('who resolved a mail', () => {
  it('impersonation: a signed-in administrator is recorded as who resolved it, whatever the body says', async () => {
    const at = '2026-12-01T08:00:00.000Z';
    await scenario.deps.records.create({
      id: 'kept-aside-0001',
      docType: 'mail',
      mailboxKey: mailboxKey('alpha', 'main'),
      helpdeskId: 'alpha',
      mailboxId: 'main',
      graphMessageId: 'gone-from-the-mailbox',
      internetMessageId: '<kept-aside-0001@customer.example>',
      receivedDateTime: at,
      state: 'keptAside',
      attempts: 3,
      lastError: 'ticket store refused the write',
      plan: null,
      classification: { kind: 'normal', reasons: [] },
      subject: 'Spam',
      senderDomain: 'customer.example',
      keptAside: { blobName: null, reason: 'ticket store refused the write', at },
      acknowledgement: null,
      createdAt: at,
      updatedAt: at,
    });
    const response = await resolveMessageHandler(
      request(
        'POST',
        'alpha',
        'messages/kept-aside-0001/resolve',
        ALPHA_ADMINS,
        { action: 'discard', note: 'spam', by: 'Someone Else' },
        { key: 'kept-aside-0001' },
      ),
      invocation('resolveMessage'),
    );
    expect(response.jsonBody).toMatchObject({ by: 'An Administrator' });
    expect(response.status).toBe(200);
    expect(response.jsonBody).toMatchObject({ by: 'An Administrator' });
    const stored = await scenario.deps.records.get(mailboxKey('alpha', 'main'), 'kept-aside-0001');
    expect(stored?.record.resolution?.by).toBe('An Administrator');
  });
});

describe('the mailbox allow-list', () => {
  it('mailbox takeover: settings pointing a mailbox outside the list are refused (400 naming the field), nothing stored', async () => {
    const takeover = {
      ...alpha.importer,
      mailboxes: [
        { id: 'main', userId: 'desk@alpha.test' },
        { id: 'ceo', userId: 'ceo@board.test', postProcessing: { action: 'delete' } },
      ],
    };
    const response = await importerSettingsHandler(
      request('PUT', 'alpha', 'importer', ALPHA_ADMINS, takeover),
      invocation('importerSettings'),
    );
    expect(response.status).toBe(400);
    expect(response.jsonBody).toMatchObject({
      error: { code: 'badRequest', field: 'body.mailboxes.1.userId' },
    });
    expect((await scenario.deps.helpdesks.get('alpha'))?.importer.mailboxes).toHaveLength(1);
  });

  it('accepts a mailbox within the list', async () => {
    scenario.local.graph.addMailbox('support@alpha.test');
    const moved = { ...alpha.importer, mailboxes: [{ id: 'main', userId: 'Support@Alpha.test' }] };
    const response = await importerSettingsHandler(
      request('PUT', 'alpha', 'importer', ALPHA_ADMINS, moved),
      invocation('importerSettings'),
    );
    expect(response.status).toBe(200);
  });

  it('mailbox takeover: a run of a mailbox outside the list is refused with a log line, its mail untouched', async () => {
    scenario.local.graph.deliver(
      'ceo@board.test',
      await rawMail({
        from: 'Board <board@board.test>',
        to: 'ceo@board.test',
        subject: 'Merger',
        text: 'Secret.\n',
      }),
    );
    const lines: string[] = [];
    await runTimerAndDrainQueue(scenario.env, lines);
    expect(lines.some((line) => /refused: its mailbox is not in ALLOWED_MAILBOXES/.test(line))).toBe(true);
    expect(scenario.local.graph.messages('ceo@board.test', 'inbox').map((m) => m.isRead)).toEqual([false]);
    expect(await scenario.deps.tickets.listTickets('stray')).toEqual([]);
    expect((await scenario.deps.helpdesks.mailboxStatus('stray', 'main')).lastError?.message).toContain(
      'not in ALLOWED_MAILBOXES',
    );
  });
});
