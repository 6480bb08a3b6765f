import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type GraphEmulator, startGraphEmulator } from '../../local/graph-emulator/index.js';

const HELPDESK = 'helpdesk@contoso.test';
const AGENT = 'agent@contoso.test';

interface Reply {
  status: number;
  headers: Headers;
  body: unknown;
  text: string;
}

type Json = Record<string, unknown>;

function mime(
  options: { subject?: string; messageId?: string; from?: string; to?: string; extra?: string[] } = {},
) {
  return [
    `From: Customer <${options.from ?? 'customer@example.com'}>`,
    `To: ${options.to ?? HELPDESK}`,
    `Subject: ${options.subject ?? 'Printer on fire'}`,
    ...(options.messageId ? [`Message-ID: ${options.messageId}`] : []),
    ...(options.extra ?? []),
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    'Please send help.',
    '',
  ].join('\r\n');
}

/** A client for the emulator: Node's fetch, trusting only its certificate. */
function graph(emulator: GraphEmulator) {
  const dispatcher = new Agent({ connect: { ca: emulator.caCertPem } });
  const call = async (
    method: string,
    path: string,
    options: { body?: unknown; headers?: Record<string, string>; token?: string | null } = {},
  ): Promise<Reply> => {
    const url = path.startsWith('https://')
      ? path
      : `${emulator.url}${path.startsWith('/_') ? '' : '/v1.0'}${path}`;
    const headers: Record<string, string> = { ...options.headers };
    if (options.token !== null) headers['Authorization'] = `Bearer ${options.token ?? 'test-token'}`;
    let body: string | Buffer | undefined;
    if (typeof options.body === 'string' || Buffer.isBuffer(options.body)) body = options.body;
    else if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['Content-Type'] ??= 'application/json';
    }
    const response = await fetch(url, { method, headers, body, dispatcher } as RequestInit);
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    return { status: response.status, headers: response.headers, body: parsed, text };
  };
  return { call, close: () => dispatcher.close() };
}

const json = (reply: Reply): Json => reply.body as Json;
const values = (reply: Reply): Json[] => json(reply)['value'] as Json[];
const errorCode = (reply: Reply): unknown => (json(reply)['error'] as Json | undefined)?.['code'];

describe('Graph emulator', () => {
  let emulator: GraphEmulator;
  let client: ReturnType<typeof graph>;
  const user = `/users/${encodeURIComponent(HELPDESK)}`;

  beforeAll(async () => {
    emulator = await startGraphEmulator();
    client = graph(emulator);
  });

  afterAll(async () => {
    await client.close();
    await emulator.close();
  });

  beforeEach(() => {
    emulator.addMailbox(HELPDESK, { displayName: 'Helpdesk' });
    emulator.addMailbox(AGENT);
    emulator.resetCounters();
    emulator.setLatency(0);
  });

  describe('requests and errors', () => {
    it('refuses a request without a bearer token with the Graph error envelope', async () => {
      const reply = await client.call('GET', `${user}/messages`, { token: null });
      expect(reply.status).toBe(401);
      expect(errorCode(reply)).toBe('InvalidAuthenticationToken');
      const innerError = (json(reply)['error'] as Json)['innerError'] as Json;
      expect(innerError['request-id']).toBe(reply.headers.get('request-id'));
      expect(innerError['date']).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/);
    });

    it('sends a request-id on every response and echoes client-request-id', async () => {
      const reply = await client.call('GET', `${user}/mailFolders/inbox`, {
        headers: { 'client-request-id': 'abc-123' },
      });
      expect(reply.status).toBe(200);
      expect(reply.headers.get('request-id')).toMatch(/^[0-9a-f-]{36}$/);
      expect(reply.headers.get('client-request-id')).toBe('abc-123');
    });

    it('reports an unknown user, an unknown message and unsupported query options', async () => {
      expect(errorCode(await client.call('GET', '/users/nobody@contoso.test/messages'))).toBe(
        'ErrorInvalidUser',
      );
      const missing = await client.call('GET', `${user}/messages/AAMkAGnothere=`);
      expect(missing.status).toBe(404);
      expect(errorCode(missing)).toBe('ErrorItemNotFound');
      expect((await client.call('GET', `${user}/messages?$search=printer`)).status).toBe(400);
      expect((await client.call('GET', `${user}/messages?$top=0`)).status).toBe(400);
      expect((await client.call('GET', `${user}/messages?$top=1001`)).status).toBe(400);
      expect((await client.call('GET', `${user}/messages?$select=nonsense`)).status).toBe(400);
    });

    it('matches well-known folder names and path segments in any case', async () => {
      const id = emulator.deliver(HELPDESK, mime());
      const prefer = { Prefer: 'IdType="ImmutableId"' };
      for (const path of [`${user}/mailFolders/Inbox/messages`, `${user}/MAILFOLDERS/INBOX/messages`]) {
        const reply = await client.call('GET', `${path}?$select=id`, { headers: prefer });
        expect(values(reply).map((message) => message['id'])).toContain(id);
      }
    });
  });

  describe('users', () => {
    it('answers GET /users/{id} by object id with the selected properties only, like Graph', async () => {
      const objectId = '3d9f1a2b-4c5e-4f60-8a7b-9c0d1e2f3a4b';
      emulator.addMailbox(objectId, { address: 'service@contoso.test', displayName: 'Service' });
      const selected = await client.call('GET', `/users/${objectId}?$select=mail,userPrincipalName`);
      expect(selected.status).toBe(200);
      expect(json(selected)).toEqual({
        '@odata.context': `${emulator.url}/v1.0/$metadata#users(mail,userPrincipalName)/$entity`,
        mail: 'service@contoso.test',
        userPrincipalName: 'service@contoso.test',
      });
      const full = json(await client.call('GET', `/users/${objectId}`));
      expect(full).toMatchObject({ id: objectId, displayName: 'Service', mail: 'service@contoso.test' });
      expect(full['@odata.context']).toBe(`${emulator.url}/v1.0/$metadata#users/$entity`);
      const unknown = await client.call('GET', `/users/${objectId}?$select=mail,shoeSize`);
      expect(unknown.status).toBe(400);
    });
  });

  describe('listing', () => {
    const mailbox = 'paging@contoso.test';
    const pagingUser = `/users/${encodeURIComponent(mailbox)}`;

    beforeAll(() => {
      const start = Date.parse('2024-01-01T00:00:00Z');
      for (let index = 0; index < 1200; index += 1) {
        emulator.deliver(
          mailbox,
          mime({ subject: `Message ${index}`, messageId: `<m${index}@example.com>` }),
          {
            receivedDateTime: new Date(start + index * 60_000).toISOString(),
            isRead: index % 3 === 0,
          },
        );
      }
    });

    it('pages 1,200 messages with $top=1000 through full nextLinks that keep the query', async () => {
      const first = await client.call(
        'GET',
        `${pagingUser}/mailFolders/inbox/messages?$select=subject&$top=1000&$orderby=receivedDateTime%20asc`,
      );
      expect(values(first)).toHaveLength(1000);
      const nextLink = json(first)['@odata.nextLink'] as string;
      expect(nextLink).toBe(
        `${emulator.url}/v1.0${pagingUser}/mailFolders/inbox/messages?$select=subject&$top=1000&$orderby=receivedDateTime%20asc&$skip=1000`,
      );
      const second = await client.call('GET', nextLink);
      expect(values(second)).toHaveLength(200);
      expect(json(second)['@odata.nextLink']).toBeUndefined();
      const subjects = [...values(first), ...values(second)].map((message) => message['subject']);
      expect(subjects[0]).toBe('Message 0');
      expect(subjects[1199]).toBe('Message 1199');
      expect(new Set(subjects).size).toBe(1200);
      expect(emulator.counters()['GET /users/{id}/mailFolders/{folder}/messages']).toBe(2);
    });

    it('pages by 10 by default, newest first', async () => {
      let link: string | undefined = `${pagingUser}/messages?$select=id`;
      const ids = new Set<unknown>();
      let pages = 0;
      while (link) {
        const page = await client.call('GET', link);
        expect(values(page).length).toBeLessThanOrEqual(10);
        for (const message of values(page)) ids.add(message['id']);
        link = json(page)['@odata.nextLink'] as string | undefined;
        pages += 1;
      }
      expect(pages).toBe(120);
      expect(ids.size).toBe(1200);
      const first = await client.call('GET', `${pagingUser}/messages?$select=subject`);
      expect(values(first)[0]?.['subject']).toBe('Message 1199');
    });

    it('takes Prefer odata.maxpagesize as the page size when $top is absent', async () => {
      const reply = await client.call('GET', `${pagingUser}/messages?$select=id`, {
        headers: { Prefer: 'odata.maxpagesize=25' },
      });
      expect(values(reply)).toHaveLength(25);
    });

    it('filters on isRead and receivedDateTime, combined with and, and counts', async () => {
      const unread = await client.call(
        'GET',
        `${pagingUser}/messages?$filter=${encodeURIComponent('isRead eq false')}&$count=true&$top=1`,
      );
      expect(json(unread)['@odata.count']).toBe(800);
      const notRead = await client.call(
        'GET',
        `${pagingUser}/messages?$filter=${encodeURIComponent('isRead ne true')}&$count=true&$top=1`,
      );
      expect(json(notRead)['@odata.count']).toBe(800);
      const window = await client.call(
        'GET',
        `${pagingUser}/messages?$count=true&$top=1&$filter=${encodeURIComponent(
          'receivedDateTime ge 2024-01-01T01:00:00Z and receivedDateTime lt 2024-01-01T02:00:00Z and isRead eq true',
        )}`,
      );
      expect(json(window)['@odata.count']).toBe(20);
      const after = await client.call(
        'GET',
        `${pagingUser}/messages?$count=true&$top=1&$filter=${encodeURIComponent('receivedDateTime gt 2024-01-01T19:58:00Z')}`,
      );
      expect(json(after)['@odata.count']).toBe(1);
    });

    it('finds a message by internetMessageId, with doubled quotes', async () => {
      emulator.deliver(mailbox, mime({ messageId: "<o'brien@example.com>" }));
      const reply = await client.call(
        'GET',
        `${pagingUser}/messages?$select=internetMessageId&$filter=${encodeURIComponent("internetMessageId eq '<o''brien@example.com>'")}`,
      );
      expect(values(reply).map((message) => message['internetMessageId'])).toEqual(["<o'brien@example.com>"]);
    });

    it('refuses a quoted date and filter clauses it does not know', async () => {
      const quoted = encodeURIComponent("receivedDateTime ge '2024-01-01T00:00:00Z'");
      expect((await client.call('GET', `${pagingUser}/messages?$filter=${quoted}`)).status).toBe(400);
      const unknown = encodeURIComponent("startswith(subject, 'Message')");
      expect((await client.call('GET', `${pagingUser}/messages?$filter=${unknown}`)).status).toBe(400);
    });

    it('applies the InefficientFilter rule to $orderby with $filter', async () => {
      const bad = await client.call(
        'GET',
        `${pagingUser}/messages?$filter=${encodeURIComponent('isRead eq false')}&$orderby=${encodeURIComponent('receivedDateTime asc')}`,
      );
      expect(bad.status).toBe(400);
      expect(json(bad)['error']).toMatchObject({
        code: 'InefficientFilter',
        message: 'The restriction or sort order is too complex for this operation.',
      });
      const wrongOrder = await client.call(
        'GET',
        `${pagingUser}/messages?$filter=${encodeURIComponent('isRead eq false and receivedDateTime ge 2024-01-01T00:00:00Z')}&$orderby=${encodeURIComponent('receivedDateTime asc')}`,
      );
      expect(errorCode(wrongOrder)).toBe('InefficientFilter');
      const good = await client.call(
        'GET',
        `${pagingUser}/messages?$select=subject&$top=2&$filter=${encodeURIComponent('receivedDateTime ge 1900-01-01T00:00:00Z and isRead eq false')}&$orderby=${encodeURIComponent('receivedDateTime asc')}`,
      );
      expect(values(good).map((message) => message['subject'])).toEqual(['Message 1', 'Message 2']);
    });

    it('always returns id and @odata.etag, and internetMessageHeaders only when selected', async () => {
      const selected = values(await client.call('GET', `${pagingUser}/messages?$select=subject&$top=1`))[0];
      expect(Object.keys(selected ?? {}).sort()).toEqual(['@odata.etag', 'id', 'subject']);
      expect(selected?.['@odata.etag']).toMatch(/^W\/"[^"]+"$/);
      const full = values(await client.call('GET', `${pagingUser}/messages?$top=1`))[0] ?? {};
      expect(full).toHaveProperty('bodyPreview', 'Please send help.');
      expect(full).toHaveProperty('changeKey');
      expect(full['@odata.etag']).toBe(`W/"${String(full['changeKey'])}"`);
      expect(full).toHaveProperty('toRecipients', [{ emailAddress: { name: HELPDESK, address: HELPDESK } }]);
      expect(full).not.toHaveProperty('internetMessageHeaders');
      const id = emulator.messages(mailbox).find((message) => message.subject === 'Message 7')?.id;
      const headers = json(
        await client.call('GET', `${pagingUser}/messages/${id}?$select=internetMessageHeaders`),
      );
      expect(headers['internetMessageHeaders']).toContainEqual({ name: 'Subject', value: 'Message 7' });
    });
  });

  describe('messages', () => {
    it('returns the raw MIME as text/plain from $value, under the user and under a folder', async () => {
      const raw = mime({ messageId: '<raw@example.com>' });
      const id = emulator.deliver(HELPDESK, raw);
      const direct = await client.call('GET', `${user}/messages/${id}/$value`);
      expect(direct.status).toBe(200);
      expect(direct.headers.get('content-type')).toBe('text/plain');
      expect(direct.text).toBe(raw);
      expect((await client.call('GET', `${user}/mailFolders/inbox/messages/${id}/$value`)).text).toBe(raw);
      expect(emulator.counters()['GET /users/{id}/messages/{id}/$value']).toBe(1);
    });

    it('gives a message without Message-ID one, in the raw MIME too', async () => {
      const id = emulator.deliver(HELPDESK, mime().replace(/^Subject: .*$/m, 'Subject: no id'));
      const view = emulator.messages(HELPDESK).find((message) => message.immutableId === id);
      expect(view?.internetMessageId).toMatch(/^<[^@]+@contoso\.test>$/);
      expect(emulator.rawMime(HELPDESK, id).toString()).toContain(`Message-ID: ${view?.internetMessageId}`);
    });

    it('PATCHes isRead, categories, flag and importance, returns the full message and bumps the etag', async () => {
      const id = emulator.deliver(HELPDESK, mime());
      const before = json(await client.call('GET', `${user}/messages/${id}`));
      const reply = await client.call('PATCH', `${user}/messages/${id}`, {
        body: {
          isRead: true,
          categories: ['Kept aside'],
          flag: { flagStatus: 'flagged' },
          importance: 'high',
        },
      });
      expect(reply.status).toBe(200);
      expect(json(reply)).toMatchObject({
        isRead: true,
        categories: ['Kept aside'],
        flag: { flagStatus: 'flagged' },
        importance: 'high',
        subject: 'Printer on fire',
      });
      expect(json(reply)['@odata.etag']).not.toBe(before['@odata.etag']);
      expect(emulator.messages(HELPDESK).find((message) => message.immutableId === id)).toMatchObject({
        isRead: true,
        categories: ['Kept aside'],
      });
      const subject = await client.call('PATCH', `${user}/messages/${id}`, { body: { subject: 'changed' } });
      expect(subject.status).toBe(400);
      expect((await client.call('PATCH', `${user}/messages/${id}`, { body: { isRead: 'yes' } })).status).toBe(
        400,
      );
    });

    it('moves to a new id without ImmutableId; the old id is gone', async () => {
      emulator.deliver(HELPDESK, mime({ subject: 'to archive' }));
      const listed = values(
        await client.call('GET', `${user}/mailFolders/inbox/messages?$select=subject&$top=1`),
      )[0];
      const oldId = String(listed?.['id']);
      const archive = json(await client.call('GET', `${user}/mailFolders/archive`));
      const moved = await client.call('POST', `${user}/messages/${oldId}/move`, {
        body: { destinationId: 'archive' },
      });
      expect(moved.status).toBe(201);
      expect(json(moved)['id']).not.toBe(oldId);
      expect(json(moved)['parentFolderId']).toBe(archive['id']);
      expect((await client.call('GET', `${user}/messages/${oldId}`)).status).toBe(404);
      expect((await client.call('GET', `${user}/messages/${String(json(moved)['id'])}`)).status).toBe(200);
    });

    it('keeps the id across moves with Prefer IdType="ImmutableId"', async () => {
      const id = emulator.deliver(HELPDESK, mime());
      const prefer = { Prefer: 'IdType="ImmutableId"' };
      const listed = values(
        await client.call('GET', `${user}/mailFolders/inbox/messages?$select=id&$top=1`, { headers: prefer }),
      )[0];
      expect(listed?.['id']).toBe(id);
      const archive = json(await client.call('GET', `${user}/mailFolders/archive`));
      const moved = await client.call('POST', `${user}/messages/${id}/move`, {
        body: { destinationId: String(archive['id']) },
        headers: prefer,
      });
      expect(moved.status).toBe(201);
      expect(json(moved)['id']).toBe(id);
      expect(emulator.messages(HELPDESK, 'archive').some((message) => message.immutableId === id)).toBe(true);
    });

    it('deletes into Deleted Items by default', async () => {
      const id = emulator.deliver(HELPDESK, mime());
      const reply = await client.call('DELETE', `${user}/messages/${id}`);
      expect(reply.status).toBe(204);
      expect(emulator.messages(HELPDESK, 'deleteditems').some((message) => message.immutableId === id)).toBe(
        true,
      );
    });

    it('purges on delete when switched', async () => {
      const purging = await startGraphEmulator({ deleteMovesToDeletedItems: false });
      const purgingClient = graph(purging);
      try {
        const id = purging.deliver(HELPDESK, mime());
        expect((await purgingClient.call('DELETE', `${user}/messages/${id}`)).status).toBe(204);
        expect(purging.messages(HELPDESK)).toHaveLength(0);
      } finally {
        await purgingClient.close();
        await purging.close();
      }
    });
  });

  describe('folders', () => {
    it('lists the root children with the Graph folder shape', async () => {
      const reply = await client.call('GET', `${user}/mailFolders`);
      expect(reply.status).toBe(200);
      const names = values(reply).map((folder) => folder['displayName']);
      expect(names).toEqual(expect.arrayContaining(['Inbox', 'Sent Items', 'Deleted Items', 'Archive']));
      expect(Object.keys(values(reply)[0] ?? {}).sort()).toEqual(
        [
          'childFolderCount',
          'displayName',
          'id',
          'isHidden',
          'parentFolderId',
          'totalItemCount',
          'unreadItemCount',
        ].sort(),
      );
    });

    it('creates a folder, finds it by name and refuses a duplicate', async () => {
      const created = await client.call('POST', `${user}/mailFolders`, {
        body: { displayName: "Kept 'aside'" },
      });
      expect(created.status).toBe(201);
      expect(json(created)).toMatchObject({
        displayName: "Kept 'aside'",
        totalItemCount: 0,
        isHidden: false,
      });
      const filter = encodeURIComponent("displayName eq 'Kept ''aside'''");
      const found = await client.call('GET', `${user}/mailFolders?$filter=${filter}`);
      expect(values(found).map((folder) => folder['id'])).toEqual([json(created)['id']]);
      const duplicate = await client.call('POST', `${user}/mailFolders`, {
        body: { displayName: "kept 'ASIDE'" },
      });
      expect(duplicate.status).toBe(400);
      expect(errorCode(duplicate)).toBe('ErrorFolderExists');
      const byId = await client.call('GET', `${user}/mailFolders/${String(json(created)['id'])}`);
      expect(json(byId)['displayName']).toBe("Kept 'aside'");
    });

    it('creates and lists child folders', async () => {
      const child = await client.call('POST', `${user}/mailFolders/inbox/childFolders`, {
        body: { displayName: 'Imported' },
      });
      expect(child.status).toBe(201);
      const children = await client.call('GET', `${user}/mailFolders/inbox/childFolders`);
      expect(values(children).map((folder) => folder['displayName'])).toContain('Imported');
      const moved = emulator.deliver(HELPDESK, mime());
      await client.call('POST', `${user}/messages/${moved}/move`, {
        body: { destinationId: String(json(child)['id']) },
      });
      expect(emulator.messages(HELPDESK, 'Imported').map((message) => message.immutableId)).toEqual([moved]);
    });
  });

  describe('sendMail', () => {
    const agentInbox = () => emulator.messages(AGENT, 'inbox');

    it('sends the JSON form: Sent Items, and the inbox of an emulated recipient', async () => {
      const before = agentInbox().length;
      const reply = await client.call('POST', `${user}/sendMail`, {
        body: {
          message: {
            subject: 'Ticket #42 received',
            body: { contentType: 'Text', content: 'We are on it.' },
            toRecipients: [{ emailAddress: { address: 'AGENT@contoso.test' } }],
            internetMessageHeaders: [{ name: 'x-ticket', value: '42' }],
          },
        },
      });
      expect(reply.status).toBe(202);
      expect(reply.text).toBe('');
      const delivered = agentInbox();
      expect(delivered).toHaveLength(before + 1);
      expect(delivered.at(-1)).toMatchObject({
        subject: 'Ticket #42 received',
        from: HELPDESK,
        isRead: false,
      });
      const raw = emulator.rawMime(AGENT, delivered.at(-1)?.immutableId ?? '').toString();
      expect(raw).toContain('x-ticket: 42');
      expect(emulator.messages(HELPDESK, 'sentitems').at(-1)).toMatchObject({
        subject: 'Ticket #42 received',
        internetMessageId: delivered.at(-1)?.internetMessageId,
      });
    });

    it('does not save to Sent Items when asked not to', async () => {
      const sent = emulator.messages(HELPDESK, 'sentitems').length;
      await client.call('POST', `${user}/sendMail`, {
        body: {
          message: { subject: 'quiet', toRecipients: [{ emailAddress: { address: AGENT } }] },
          saveToSentItems: false,
        },
      });
      expect(emulator.messages(HELPDESK, 'sentitems')).toHaveLength(sent);
    });

    it('refuses standard header names and more than 5 custom headers in the JSON form', async () => {
      const send = (headers: Array<{ name: string; value: string }>) =>
        client.call('POST', `${user}/sendMail`, {
          body: { message: { subject: 'x', toRecipients: [], internetMessageHeaders: headers } },
        });
      const standard = await send([{ name: 'In-Reply-To', value: '<a@b>' }]);
      expect(standard.status).toBe(400);
      expect(json(standard)['error']).toMatchObject({
        code: 'InvalidInternetMessageHeader',
        message: "The internet message header name 'In-Reply-To' should start with 'x-' or 'X-'.",
      });
      const many = await send(Array.from({ length: 6 }, (_, index) => ({ name: `x-h${index}`, value: 'v' })));
      expect(errorCode(many)).toBe('InvalidInternetMessageHeaderCollection');
    });

    it('sends the MIME form with the headers exactly as sent', async () => {
      const raw = mime({
        from: HELPDESK,
        to: AGENT,
        subject: 'Re: Printer on fire',
        messageId: '<reply-1@contoso.test>',
        extra: [
          'In-Reply-To: <orig@example.com>',
          'References: <root@example.com> <orig@example.com>',
          'Auto-Submitted: auto-replied',
        ],
      });
      const reply = await client.call('POST', `${user}/sendMail`, {
        body: Buffer.from(raw).toString('base64'),
        headers: { 'Content-Type': 'text/plain' },
      });
      expect(reply.status).toBe(202);
      const delivered = agentInbox().find(
        (message) => message.internetMessageId === '<reply-1@contoso.test>',
      );
      expect(delivered).toBeDefined();
      const stored = emulator.rawMime(AGENT, delivered?.immutableId ?? '').toString();
      expect(stored).toContain('In-Reply-To: <orig@example.com>\r\n');
      expect(stored).toContain('References: <root@example.com> <orig@example.com>\r\n');
      expect(stored).toContain('Auto-Submitted: auto-replied\r\n');
      expect(stored.endsWith(raw)).toBe(true);
      expect(
        emulator
          .messages(HELPDESK, 'sentitems')
          .some((m) => m.internetMessageId === '<reply-1@contoso.test>'),
      ).toBe(true);
    });

    it('refuses invalid base64 and a body over the size limit', async () => {
      const invalid = await client.call('POST', `${user}/sendMail`, {
        body: 'not base64 at all!',
        headers: { 'Content-Type': 'text/plain' },
      });
      expect(invalid.status).toBe(400);
      expect(errorCode(invalid)).toBe('ErrorMimeContentInvalidBase64String');
      const small = await startGraphEmulator({ sendMailMaxBytes: 1024 });
      const smallClient = graph(small);
      try {
        small.addMailbox(HELPDESK);
        const large = mime({ extra: [`X-Padding: ${'a'.repeat(2000)}`] });
        const reply = await smallClient.call('POST', `${user}/sendMail`, {
          body: Buffer.from(large).toString('base64'),
          headers: { 'Content-Type': 'text/plain' },
        });
        expect(reply.status).toBe(413);
      } finally {
        await smallClient.close();
        await small.close();
      }
    });
  });

  describe('$batch', () => {
    const patch = (id: string, messageId: string, extra: Json = {}) => ({
      id,
      method: 'PATCH',
      url: `${user}/messages/${messageId}`,
      headers: { 'Content-Type': 'application/json' },
      body: { isRead: true },
      ...extra,
    });

    it('runs the requests and answers each with its own status, headers and body', async () => {
      const first = emulator.deliver(HELPDESK, mime());
      const second = emulator.deliver(HELPDESK, mime());
      const reply = await client.call('POST', '/$batch', {
        body: {
          requests: [
            patch('1', first),
            patch('2', second),
            { id: '3', method: 'GET', url: `${user}/messages/${first}?$select=isRead` },
            { id: '4', method: 'GET', url: `${user}/messages/AAMkAGmissing=` },
          ],
        },
      });
      expect(reply.status).toBe(200);
      const responses = new Map(
        (json(reply)['responses'] as Json[]).map((response) => [response['id'], response]),
      );
      expect(responses.get('1')).toMatchObject({ status: 200, body: { isRead: true } });
      expect(responses.get('2')?.['status']).toBe(200);
      expect(responses.get('4')).toMatchObject({
        status: 404,
        body: { error: { code: 'ErrorItemNotFound' } },
      });
      expect(emulator.counters()).toMatchObject({
        'POST /$batch': 1,
        'batched:PATCH /users/{id}/messages/{id}': 2,
        'batched:GET /users/{id}/messages/{id}': 2,
      });
    });

    it('refuses more than 20 requests, duplicate ids and absolute URLs', async () => {
      const id = emulator.deliver(HELPDESK, mime());
      const many = Array.from({ length: 21 }, (_, index) => patch(String(index), id));
      expect((await client.call('POST', '/$batch', { body: { requests: many } })).status).toBe(400);
      const duplicate = [patch('1', id), patch('1', id)];
      expect((await client.call('POST', '/$batch', { body: { requests: duplicate } })).status).toBe(400);
      const absolute = [{ id: '1', method: 'GET', url: `${emulator.url}/v1.0${user}/messages` }];
      expect((await client.call('POST', '/$batch', { body: { requests: absolute } })).status).toBe(400);
    });

    it('answers 424 for a request whose dependency failed', async () => {
      const id = emulator.deliver(HELPDESK, mime());
      const reply = await client.call('POST', '/$batch', {
        body: {
          requests: [
            patch('tag', 'AAMkAGmissing='),
            {
              id: 'move',
              method: 'POST',
              url: `${user}/messages/${id}/move`,
              headers: { 'Content-Type': 'application/json' },
              body: { destinationId: 'archive' },
              dependsOn: ['tag'],
            },
          ],
        },
      });
      const responses = json(reply)['responses'] as Json[];
      expect(responses.find((response) => response['id'] === 'move')?.['status']).toBe(424);
      expect(emulator.messages(HELPDESK, 'inbox').some((message) => message.immutableId === id)).toBe(true);
    });

    it('fails single requests inside a batch with 429 and their own Retry-After', async () => {
      const ids = [emulator.deliver(HELPDESK, mime()), emulator.deliver(HELPDESK, mime())];
      emulator.injectFault({ route: 'PATCH', status: 429, retryAfterSeconds: 7, count: 1, inBatch: true });
      const reply = await client.call('POST', '/$batch', {
        body: {
          requests: ids.map((id, index) => patch(String(index), id, { dependsOn: index === 0 ? [] : ['0'] })),
        },
      });
      const responses = json(reply)['responses'] as Json[];
      const throttled = responses.find((response) => response['status'] === 429);
      expect(throttled?.['headers']).toMatchObject({ 'Retry-After': '7' });
      expect(throttled?.['body']).toMatchObject({ error: { code: 'TooManyRequests' } });
      expect(responses.find((response) => response['id'] === '1')?.['status']).toBe(424);
    });

    it('runs at most 4 requests of a batch at once', async () => {
      emulator.setLatency(40);
      const ids = Array.from({ length: 12 }, () => emulator.deliver(HELPDESK, mime()));
      const started = Date.now();
      const reply = await client.call('POST', '/$batch', {
        body: { requests: ids.map((id, index) => patch(String(index), id)) },
      });
      expect((json(reply)['responses'] as Json[]).every((response) => response['status'] === 200)).toBe(true);
      expect(emulator.peakConcurrency(HELPDESK)).toBe(4);
      expect(Date.now() - started).toBeGreaterThanOrEqual(3 * 40);
    });
  });

  describe('throttling and faults', () => {
    it('fails the next matching requests with the injected status, then recovers', async () => {
      emulator.injectFault({ route: 'GET /users/{id}/mailFolders/{folder}', status: 503, count: 2 });
      expect((await client.call('GET', `${user}/mailFolders/inbox`)).status).toBe(503);
      const second = await client.call('GET', `${user}/mailFolders/inbox`);
      expect(errorCode(second)).toBe('ServiceUnavailable');
      expect((await client.call('GET', `${user}/mailFolders/inbox`)).status).toBe(200);
      expect(emulator.counters()['GET /users/{id}/mailFolders/{folder}']).toBe(3);
    });

    it('sends 429 with Retry-After and the given code, after the given latency', async () => {
      emulator.injectFault({
        route: '$value',
        method: 'GET',
        status: 429,
        retryAfterSeconds: 3,
        code: 'ApplicationThrottled',
        count: 1,
        latencyMs: 60,
      });
      const id = emulator.deliver(HELPDESK, mime());
      const started = Date.now();
      const reply = await client.call('GET', `${user}/messages/${id}/$value`);
      expect(Date.now() - started).toBeGreaterThanOrEqual(55);
      expect(reply.status).toBe(429);
      expect(reply.headers.get('retry-after')).toBe('3');
      expect(json(reply)['error']).toMatchObject({
        code: 'ApplicationThrottled',
        message: 'Application is over its MailboxConcurrency limit.',
      });
      expect((await client.call('GET', `${user}/messages/${id}/$value`)).status).toBe(200);
    });

    it('refuses a fifth concurrent request to one mailbox with ApplicationThrottled', async () => {
      // Long enough that all six are in flight together even on a loaded machine.
      emulator.setLatency(400);
      const replies = await Promise.all(
        Array.from({ length: 6 }, () => client.call('GET', `${user}/mailFolders/inbox`)),
      );
      const statuses = replies.map((reply) => reply.status).sort();
      expect(statuses).toEqual([200, 200, 200, 200, 429, 429]);
      expect(replies.map(errorCode)).toContain('ApplicationThrottled');
      const other = await Promise.all([
        client.call('GET', `/users/${AGENT}/mailFolders/inbox`),
        client.call('GET', `${user}/mailFolders/inbox`),
      ]);
      expect(other.map((reply) => reply.status)).toEqual([200, 200]);
    });

    it('lets any number through when the concurrency limit is switched off', async () => {
      const unlimited = await startGraphEmulator({ mailboxConcurrencyLimit: false });
      const unlimitedClient = graph(unlimited);
      try {
        unlimited.addMailbox(HELPDESK);
        // Long enough that all eight are in flight together even on a loaded machine.
        unlimited.setLatency(400);
        const replies = await Promise.all(
          Array.from({ length: 8 }, () => unlimitedClient.call('GET', `${user}/mailFolders/inbox`)),
        );
        expect(replies.every((reply) => reply.status === 200)).toBe(true);
        expect(unlimited.peakConcurrency(HELPDESK)).toBe(8);
      } finally {
        await unlimitedClient.close();
        await unlimited.close();
      }
    });
  });

  describe('control API', () => {
    it('delivers, shows state, counts, resets and injects faults over HTTP without auth', async () => {
      const delivered = await client.call(
        'POST',
        `/_emulator/mailboxes/${encodeURIComponent('ops@contoso.test')}/messages?folder=archive&isRead=true`,
        {
          body: mime({ subject: 'over http' }),
          token: null,
        },
      );
      expect(delivered.status).toBe(201);
      const state = await client.call(
        'GET',
        `/_emulator/mailboxes/${encodeURIComponent('ops@contoso.test')}`,
        {
          token: null,
        },
      );
      expect((json(state)['messages'] as Json[])[0]).toMatchObject({
        immutableId: json(delivered)['id'],
        folder: 'archive',
        isRead: true,
        subject: 'over http',
      });
      await client.call('GET', '/users/ops@contoso.test/messages');
      expect(json(await client.call('GET', '/_emulator/counters', { token: null }))).toMatchObject({
        'GET /users/{id}/messages': 1,
      });
      expect((await client.call('POST', '/_emulator/counters/reset', { token: null })).status).toBe(204);
      expect(json(await client.call('GET', '/_emulator/counters', { token: null }))).toEqual({});
      const fault = await client.call('POST', '/_emulator/faults', {
        body: { route: 'GET /users/{id}/messages', status: 504, count: 1 },
        token: null,
      });
      expect(fault.status).toBe(204);
      expect((await client.call('GET', '/users/ops@contoso.test/messages')).status).toBe(504);
    });
  });
});

describe('Graph emulator: delta and subscriptions', () => {
  let emulator: GraphEmulator;
  let client: ReturnType<typeof graph>;
  let receiver: Server;
  let receiverUrl: string;
  /** What the receiver got: validation tokens and notification bodies. */
  const received: { validations: string[]; notifications: Json[] } = { validations: [], notifications: [] };
  let answerValidation = true;
  const DESK = 'delta@contoso.test';
  const folder = `/users/${encodeURIComponent(DESK)}/mailFolders/inbox`;

  beforeAll(async () => {
    emulator = await startGraphEmulator({ maxSubscriptionMinutes: 60 });
    client = graph(emulator);
    receiver = createServer((request, response) => {
      const token = new URL(request.url ?? '/', 'http://127.0.0.1').searchParams.get('validationToken');
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        if (token !== null) {
          received.validations.push(token);
          response.writeHead(answerValidation ? 200 : 500, { 'Content-Type': 'text/plain' });
          response.end(answerValidation ? token : '');
          return;
        }
        received.notifications.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Json);
        response.writeHead(202);
        response.end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/notify`;
    emulator.addMailbox(DESK);
  });

  afterAll(async () => {
    await client.close();
    await emulator.close();
    await new Promise((resolve) => receiver.close(resolve));
  });

  it('pages a delta round with $select and odata.maxpagesize, then gives only what changed, with @removed', async () => {
    const ids = Array.from({ length: 5 }, (_, i) =>
      emulator.deliver(DESK, mime({ subject: `Delta ${i}` }), { isRead: i === 0 }),
    );
    const prefer = { Prefer: 'odata.maxpagesize=2, IdType="ImmutableId"' };
    let reply = await client.call('GET', `${folder}/messages/delta?$select=subject,isRead`, {
      headers: prefer,
    });
    const seen: Json[] = [];
    let pages = 0;
    while (json(reply)['@odata.nextLink']) {
      expect(reply.headers.get('preference-applied')).toBe('odata.maxpagesize=2');
      seen.push(...values(reply));
      pages++;
      expect(String(json(reply)['@odata.nextLink'])).toContain('$skiptoken=');
      reply = await client.call('GET', String(json(reply)['@odata.nextLink']), { headers: prefer });
    }
    seen.push(...values(reply));
    expect(pages).toBe(2);
    expect(seen.map((m) => m['id'])).toEqual(ids);
    expect(Object.keys(seen[0] ?? {}).sort()).toEqual([
      '@odata.etag',
      '@odata.type',
      'id',
      'isRead',
      'subject',
    ]);
    const deltaLink = String(json(reply)['@odata.deltaLink']);
    expect(deltaLink).toContain('$deltatoken=');

    const moved = ids[1] ?? '';
    expect(
      (await client.call('PATCH', `/users/${DESK}/messages/${ids[2]}`, { body: { isRead: true } })).status,
    ).toBe(200);
    await client.call('POST', `/users/${DESK}/messages/${moved}/move`, {
      body: { destinationId: 'archive' },
    });
    const added = emulator.deliver(DESK, mime({ subject: 'Delta new' }));
    // The round's query (page size included) came with the token: two pages again.
    const next = await client.call('GET', deltaLink, { headers: prefer });
    const last = await client.call('GET', String(json(next)['@odata.nextLink']), { headers: prefer });
    expect(json(last)['@odata.deltaLink']).toBeDefined();
    const changes = [...values(next), ...values(last)];
    expect(changes.find((m) => m['id'] === moved)).toMatchObject({ '@removed': { reason: 'deleted' } });
    expect(changes.find((m) => m['id'] === ids[2])).toMatchObject({ isRead: true, subject: 'Delta 2' });
    expect(changes.find((m) => m['id'] === added)).toMatchObject({ subject: 'Delta new' });
    expect(changes).toHaveLength(3);
  });

  it('answers an unknown or expired token with 410 SyncStateNotFound', async () => {
    const round = await client.call('GET', `${folder}/messages/delta`);
    expect(round.status).toBe(200);
    const unknown = await client.call('GET', `${folder}/messages/delta?$deltatoken=nothing-like-it`);
    expect(unknown.status).toBe(410);
    expect(errorCode(unknown)).toBe('SyncStateNotFound');
    emulator.expireDeltaTokens();
    const expired = await client.call('GET', String(json(round)['@odata.deltaLink']));
    expect(expired.status).toBe(410);
    expect((await client.call('GET', `${folder}/messages/delta?$filter=isRead eq false`)).status).toBe(400);
  });

  it('validates the URL on create, caps the lifetime, notifies on new mail, renews and deletes', async () => {
    const soon = new Date(Date.now() + 30 * 60_000).toISOString();
    const body = {
      changeType: 'created',
      notificationUrl: receiverUrl,
      resource: `users/${DESK}/mailFolders('inbox')/messages`,
      expirationDateTime: soon,
      clientState: 'state-1',
    };
    answerValidation = false;
    const refused = await client.call('POST', '/subscriptions', { body });
    expect(refused.status).toBe(400);
    expect(errorCode(refused)).toBe('ValidationError');
    answerValidation = true;
    const tooLong = await client.call('POST', '/subscriptions', {
      body: { ...body, expirationDateTime: new Date(Date.now() + 61 * 60_000).toISOString() },
    });
    expect(tooLong.status).toBe(400);
    const created = await client.call('POST', '/subscriptions', { body });
    expect(created.status).toBe(201);
    const id = String(json(created)['id']);
    expect(received.validations.length).toBe(3 - 1);

    const messageId = emulator.deliver(DESK, mime({ subject: 'Notify me' }));
    emulator.deliver(DESK, mime({ subject: 'Elsewhere' }), { folder: 'archive' });
    emulator.injectNotificationFaults({ duplicate: 1 });
    emulator.deliver(DESK, mime({ subject: 'Twice' }));
    emulator.injectNotificationFaults({ drop: 1 });
    emulator.deliver(DESK, mime({ subject: 'Never' }));
    await emulator.notificationsSettled();
    const notes = received.notifications.flatMap((n) => n['value'] as Json[]);
    expect(notes).toHaveLength(3);
    expect(notes[0]).toMatchObject({ subscriptionId: id, clientState: 'state-1', changeType: 'created' });
    expect(notes[0]).toMatchObject({ resourceData: { id: messageId } });
    expect(notes[1]).toEqual(notes[2]);

    const renewed = await client.call('PATCH', `/subscriptions/${id}`, {
      body: { expirationDateTime: new Date(Date.now() + 50 * 60_000).toISOString() },
    });
    expect(renewed.status).toBe(200);
    emulator.sendLifecycleEvent(id, 'missed');
    await emulator.notificationsSettled();
    expect(received.notifications.at(-1)).toMatchObject({
      value: [{ subscriptionId: id, lifecycleEvent: 'missed' }],
    });
    expect((await client.call('DELETE', `/subscriptions/${id}`)).status).toBe(204);
    expect(
      (await client.call('PATCH', `/subscriptions/${id}`, { body: { expirationDateTime: soon } })).status,
    ).toBe(404);
    expect(emulator.subscriptions()).toEqual([]);
  });
});
