import type { TokenCredential } from '@azure/identity';
import { BatchResponseContent, PageIterator, ResponseType } from '@microsoft/microsoft-graph-client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type GraphEmulator, startGraphEmulator } from '../../local/graph-emulator/index.js';
import { createGraphClient, GRAPH_SCOPE, type GraphClientProvider } from '../../shared/graph/graphClient.js';

const HELPDESK = 'helpdesk@contoso.test';
const AGENT = 'agent@contoso.test';
const USER = `/users/${HELPDESK}`;

const mime = (subject: string): string =>
  `From: customer@example.com\r\nTo: ${HELPDESK}\r\nSubject: ${subject}\r\n\r\nHello\r\n`;

interface Message {
  id: string;
  subject?: string;
  isRead?: boolean;
  parentFolderId?: string;
}

/** The real Graph SDK client, built by createGraphClient, authenticated through a TokenCredential. */
describe('Graph SDK client against the Graph emulator', () => {
  let emulator: GraphEmulator;
  let client: GraphClientProvider;
  const requestedScopes: string[][] = [];

  beforeAll(async () => {
    emulator = await startGraphEmulator();
    const credential: TokenCredential = {
      getToken: async (scopes) => {
        requestedScopes.push([scopes].flat());
        return { token: 'token-from-credential', expiresOnTimestamp: Date.now() + 3_600_000 };
      },
    };
    client = createGraphClient({ baseUrl: emulator.url, credential, caCertPem: emulator.caCertPem });
  });

  afterAll(() => emulator.close());

  beforeEach(() => {
    emulator.addMailbox(HELPDESK);
    emulator.addMailbox(AGENT);
    emulator.resetCounters();
  });

  it('builds the client once and asks the credential for the Graph scope', async () => {
    expect(client()).toBe(client());
    await client().api(`${USER}/mailFolders/inbox`).get();
    expect(requestedScopes.at(-1)).toEqual([GRAPH_SCOPE]);
  });

  it('pages through a folder with PageIterator and nextLinks', async () => {
    for (let index = 0; index < 25; index += 1) emulator.deliver(HELPDESK, mime(`page ${index}`));
    const subjects: string[] = [];
    const first = await client()
      .api(`${USER}/mailFolders/inbox/messages`)
      .select(['id', 'subject'])
      .filter('isRead eq false')
      .top(10)
      .get();
    await new PageIterator(client(), first, (message: Message) => {
      subjects.push(message.subject ?? '');
      return true;
    }).iterate();
    expect(subjects.filter((subject) => subject.startsWith('page '))).toHaveLength(25);
    expect(emulator.counters()['GET /users/{id}/mailFolders/{folder}/messages']).toBe(3);
  });

  it('downloads $value as text and as a stream', async () => {
    const id = emulator.deliver(HELPDESK, mime('raw'));
    const raw = emulator.rawMime(HELPDESK, id).toString();
    expect(await client().api(`${USER}/messages/${id}/$value`).responseType(ResponseType.TEXT).get()).toBe(
      raw,
    );
    const stream: ReadableStream<Uint8Array> = await client()
      .api(`${USER}/messages/${id}/$value`)
      .responseType(ResponseType.STREAM)
      .get();
    expect(await new Response(stream).text()).toBe(raw);
  });

  it('PATCHes a message and moves it, keeping the immutable id', async () => {
    const id = emulator.deliver(HELPDESK, mime('patch and move'));
    const patched: Message = await client()
      .api(`${USER}/messages/${id}`)
      .header('Prefer', 'IdType="ImmutableId"')
      .patch({ isRead: true });
    expect(patched).toMatchObject({ id, isRead: true, subject: 'patch and move' });
    const moved: Message = await client()
      .api(`${USER}/messages/${id}/move`)
      .header('Prefer', 'IdType="ImmutableId"')
      .post({ destinationId: 'archive' });
    const archive: Message = await client().api(`${USER}/mailFolders/archive`).get();
    expect(moved).toMatchObject({ id, parentFolderId: archive.id });
  });

  it('sends mail to another emulated mailbox', async () => {
    await client()
      .api(`${USER}/sendMail`)
      .post({
        message: {
          subject: 'Your ticket',
          body: { contentType: 'Text', content: 'Thanks' },
          toRecipients: [{ emailAddress: { address: AGENT } }],
        },
      });
    expect(emulator.messages(AGENT, 'inbox').at(-1)).toMatchObject({
      subject: 'Your ticket',
      from: HELPDESK,
    });
  });

  it('sends a $batch and reads it with BatchResponseContent', async () => {
    const ids = [emulator.deliver(HELPDESK, mime('one')), emulator.deliver(HELPDESK, mime('two'))];
    const answer = await client()
      .api('/$batch')
      .post({
        requests: [
          ...ids.map((id, index) => ({
            id: String(index),
            method: 'PATCH',
            url: `${USER}/messages/${id}`,
            headers: { 'Content-Type': 'application/json' },
            body: { isRead: true },
          })),
          { id: 'missing', method: 'GET', url: `${USER}/messages/AAkALgmissing=` },
        ],
      });
    const batch = new BatchResponseContent(answer);
    expect(batch.getResponseById('0').status).toBe(200);
    expect(((await batch.getResponseById('1').json()) as Message).isRead).toBe(true);
    expect(batch.getResponseById('missing').status).toBe(404);
    expect(emulator.counters()['batched:PATCH /users/{id}/messages/{id}']).toBe(2);
  });

  it("retries a 429 after its Retry-After (the SDK's RetryHandler)", async () => {
    emulator.injectFault({
      route: 'GET /users/{id}/mailFolders/{folder}',
      status: 429,
      retryAfterSeconds: 1,
      count: 1,
    });
    const started = Date.now();
    const inbox: { displayName: string } = await client().api(`${USER}/mailFolders/inbox`).get();
    expect(inbox.displayName).toBe('Inbox');
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(emulator.counters()['GET /users/{id}/mailFolders/{folder}']).toBe(2);
  });

  it('surfaces Graph errors with their code', async () => {
    await expect(client().api(`${USER}/messages/AAkALgmissing=`).get()).rejects.toMatchObject({
      statusCode: 404,
      code: 'ErrorItemNotFound',
    });
  });

  it("streams a GET under the version root with the credential's token, and only there", async () => {
    const id = emulator.deliver(HELPDESK, mime('streamed directly'));
    const response = await client.getStream(`/users/${HELPDESK}/messages/${id}/$value`, {});
    expect(response.status).toBe(200);
    expect(await response.text()).toBe(emulator.rawMime(HELPDESK, id).toString('utf8'));
    const missing = await client.getStream(`/users/${HELPDESK}/messages/AAkALgmissing=/$value`, {});
    expect(missing).toMatchObject({ ok: false, status: 404 });
    expect(await missing.text()).toContain('ErrorItemNotFound');
    // An absolute URL (another host) is refused before any token is asked for or sent.
    const asked = requestedScopes.length;
    await expect(client.getStream('https://elsewhere.example/steal', {})).rejects.toThrow(/must start with/);
    expect(requestedScopes).toHaveLength(asked);
  });

  it('trusts the emulator certificate only when given', async () => {
    const untrusting = createGraphClient({ baseUrl: emulator.url, accessToken: 'token' });
    await expect(untrusting().api(`${USER}/mailFolders/inbox`).get()).rejects.toBeDefined();
    await expect(untrusting.getStream(`${USER}/mailFolders/inbox`, {})).rejects.toBeDefined();
    expect(emulator.counters()['GET /users/{id}/mailFolders/{folder}']).toBeUndefined();
  });

  it('validates its options', () => {
    expect(() => createGraphClient({ baseUrl: 'http://127.0.0.1:1' })).toThrow(/baseUrl/);
    expect(() =>
      createGraphClient({ baseUrl: 'https://graph.microsoft.com', caCertPem: 'nonsense' }),
    ).toThrow(/caCertPem/);
    expect(() => createGraphClient({ baseUrl: 'https://graph.microsoft.com/v1.0/' })).not.toThrow();
  });
});
