import { describe, expect, it } from 'vitest';
import { ConfigurationError, readEnvironment } from '../../shared/config/environment.js';

const emulator = {
  AzureWebJobsStorage: 'UseDevelopmentStorage=true',
  COSMOS_ENDPOINT: 'https://127.0.0.1:8081',
  COSMOS_KEY: 'key',
  GRAPH_BASE_URL: 'https://127.0.0.1:9443',
  GRAPH_ACCESS_TOKEN: 'token',
  MANAGEMENT_AUTH: 'none',
  ALLOWED_MAILBOXES: '*',
};

const azure = {
  AzureWebJobsStorage__accountName: 'sthelpdesk',
  AzureWebJobsStorage__credential: 'managedidentity',
  AzureWebJobsStorage__clientId: '00000000-0000-0000-0000-000000000001',
  COSMOS_ENDPOINT: 'https://cosmos-helpdesk.documents.azure.com:443/',
  AZURE_CLIENT_ID: '00000000-0000-0000-0000-000000000001',
  WEBSITE_SITE_NAME: 'func-helpdesk',
  WEBSITE_AUTH_ENABLED: 'True',
  ALLOWED_MAILBOXES: 'servicedesk@contoso.com, support.contoso.com',
};

function failure(env: Record<string, string>): string {
  try {
    readEnvironment(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigurationError);
    return (error as Error).message;
  }
  throw new Error('expected the environment to be rejected');
}

describe('readEnvironment', () => {
  it('accepts the emulator form and fills the defaults', () => {
    expect(readEnvironment(emulator)).toMatchObject({
      COSMOS_DATABASE: 'helpdesk',
      IMPORT_QUEUE_NAME: 'mailbox-imports',
      IMPORT_SCHEDULE: '0 */5 * * * *',
      IMPORT_TIME_BUDGET_SECONDS: 480,
      IMAGES_CONTAINER: 'ticket-images',
      RAW_MAIL_CONTAINER: 'raw-mail',
      KEPT_ASIDE_CONTAINER: 'kept-aside-mail',
      GRAPH_BASE_URL: 'https://127.0.0.1:9443',
    });
  });

  it('accepts the identity-based Azure form with no key anywhere', () => {
    expect(readEnvironment(azure)).toMatchObject({ GRAPH_BASE_URL: 'https://graph.microsoft.com' });
  });

  it.each([
    [{ ...azure, AzureWebJobsStorage__accountName: '' }, 'Invalid setting AzureWebJobsStorage__accountName'],
    [
      { ...emulator, COSMOS_ENDPOINT: 'http://127.0.0.1:8081' },
      'Invalid setting COSMOS_ENDPOINT: must be an https URL',
    ],
    [{ ...emulator, COSMOS_ENDPOINT: undefined }, 'Invalid setting COSMOS_ENDPOINT'],
    [{ ...emulator, IMPORT_SCHEDULE: '*/5 * * * *' }, 'Invalid setting IMPORT_SCHEDULE'],
    [{ ...emulator, IMPORT_SCHEDULE: '0 */5 * * * banana' }, 'Invalid setting IMPORT_SCHEDULE'],
    [{ ...emulator, IMPORT_QUEUE_NAME: 'Mailbox_Imports' }, 'Invalid setting IMPORT_QUEUE_NAME'],
    [{ ...emulator, IMPORT_TIME_BUDGET_SECONDS: 'soon' }, 'Invalid setting IMPORT_TIME_BUDGET_SECONDS'],
    [
      { ...azure, AzureWebJobsStorage__credential: 'password' },
      'Invalid setting AzureWebJobsStorage__credential',
    ],
  ])('rejects a bad setting with one line naming it (%#)', (env, message) => {
    const text = failure(env as Record<string, string>);
    expect(text.startsWith(message)).toBe(true);
    expect(text).not.toContain('\n');
  });

  it('manages with Entra ID unless told otherwise, and reads the mailbox allow-list', () => {
    expect(readEnvironment(azure)).toMatchObject({
      MANAGEMENT_AUTH: 'entra',
      ALLOWED_MAILBOXES: {
        any: false,
        domains: ['support.contoso.com'],
        mailboxes: ['servicedesk@contoso.com'],
      },
    });
  });

  it.each([
    [{ ...azure, MANAGEMENT_AUTH: 'none' }, 'Invalid setting MANAGEMENT_AUTH: none is for local runs only'],
    [{ ...azure, MANAGEMENT_AUTH: 'off' }, 'Invalid setting MANAGEMENT_AUTH'],
    [{ ...azure, ALLOWED_MAILBOXES: undefined }, 'Invalid setting ALLOWED_MAILBOXES'],
    [{ ...azure, ALLOWED_MAILBOXES: ' , ' }, 'Invalid setting ALLOWED_MAILBOXES: must list at least one'],
    [{ ...azure, ALLOWED_MAILBOXES: 'contoso' }, 'Invalid setting ALLOWED_MAILBOXES: "contoso" is not'],
  ])('refuses an open or missing access setting (%#)', (env, message) => {
    expect(failure(env as Record<string, string>)).toContain(message);
  });
});
