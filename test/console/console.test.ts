import { readdirSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PREVIEW_MAX_BYTES } from '../../functions/previewMessage.js';
import { DEMO_MAILBOX, demoHelpdesk, seedDemo } from '../../local/demoHelpdesk.js';
import type { LocalHost } from '../../local/host.js';
import type { Helpdesk } from '../../shared/helpdesk/settings.js';
import { CONSOLE_CSP } from '../../shared/http/consoleAssets.js';
import { browserMissing, launchChromium } from '../support/browser.js';
import { startHostWithoutTimers } from '../support/hostApi.js';
import { type ImportScenario, mailRecords, startImportScenario } from '../support/importScenario.js';
import { pngImage, rawMail } from '../support/mail.js';

/**
 * The admin console (issue 16) against the local host with the demo helpdesk and its sample mail: the
 * page and the preview endpoint over HTTP, then the console itself in Chromium, page by page, each
 * screenshotted into test-results/console/ for a person to look at.
 */

const projectDir = path.resolve(import.meta.dirname, '../..');
const SCREENSHOTS = path.join(projectDir, 'test-results', 'console');
const samples = path.join(projectDir, 'samples', 'mail');

// The demo helpdesk with one rule that keeps mail about legal matters aside for a person.
const keepLegalAside = Object.fromEntries([
  ['id', 'legal'],
  ['name', 'Legal questions go to a person'],
  ['when', { field: 'subject', op: 'contains', value: 'legal' }],
  ['then', [{ action: 'keepAside' }]],
  ['stop', true],
]);
const base = demoHelpdesk(DEMO_MAILBOX);
const demo: Helpdesk = {
  ...base,
  importer: {
    ...base.importer,
    mailboxes: base.importer.mailboxes.map((m) => ({ ...m, rules: [keepLegalAside] })),
  } as Helpdesk['importer'],
};

let scenario: ImportScenario;
let host: LocalHost;
let legalMail: Buffer;

async function api(
  method: string,
  route: string,
  init: { body?: string | Buffer; headers?: Record<string, string> } = {},
) {
  const response = await fetch(`${host.httpUrl}/api/${route}`, { method, ...init });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, json: () => JSON.parse(text) };
}

/** The decoded size of an image in the page, once it has loaded ([0, 0] never passes: a broken image). */
async function naturalSize(image: Locator): Promise<number[]> {
  await image.waitFor();
  const size = () =>
    image.evaluate((img) => {
      const { naturalWidth, naturalHeight } = img as unknown as {
        naturalWidth: number;
        naturalHeight: number;
      };
      return [naturalWidth, naturalHeight];
    });
  await expect.poll(async () => (await size())[0]).toBeGreaterThan(0);
  return size();
}

beforeAll(async () => {
  scenario = await startImportScenario();
  await seedDemo(scenario.deps, demo);
  const { graph } = scenario.local;
  graph.addMailbox(DEMO_MAILBOX, { displayName: 'Demo Servicedesk' });
  const files = readdirSync(samples)
    .filter((name) => name.endsWith('.eml'))
    .sort();
  for (const [index, name] of files.entries()) {
    graph.deliver(DEMO_MAILBOX, readFileSync(path.join(samples, name)), {
      receivedDateTime: new Date(Date.parse('2026-12-01T08:00:00Z') + index * 60_000).toISOString(),
    });
  }
  legalMail = await rawMail({
    from: 'Karin Smit <karin@customer.example>',
    to: DEMO_MAILBOX,
    subject: 'A legal question about our contract',
    text: 'Can we end the contract early?\n',
    html:
      '<p>Can we end the <b>contract</b> early?</p><p><img alt="signature" src="cid:signature@customer.example"></p>' +
      '<script>document.title = "ran"</script>',
    attachments: [
      { filename: 'contract.pdf', content: Buffer.from('%PDF-1.4 x'), contentType: 'application/pdf' },
      { content: pngImage(6, 20, 10), contentType: 'image/png', cid: 'signature@customer.example' },
    ],
  });
  graph.deliver(DEMO_MAILBOX, legalMail, { receivedDateTime: '2026-12-01T09:00:00Z' });
  host = await startHostWithoutTimers({ env: scenario.env });
});

afterAll(async () => {
  await host?.stop();
  await scenario?.local.close();
});

describe('the console over HTTP', () => {
  it('serves the page, its one script and its styles under a strict policy, and nothing else', async () => {
    const page = await api('GET', 'console');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toBe(CONSOLE_CSP);
    expect(CONSOLE_CSP).toContain("script-src 'self'");
    expect(CONSOLE_CSP).not.toContain('unsafe-inline');
    // No inline script or style in the page: every script and style sheet is a file of the app.
    expect(page.text).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(page.text).not.toMatch(/<style|style=/);
    const script = await api('GET', 'console/app.js');
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect((await api('GET', 'console/app.css')).headers.get('content-type')).toBe('text/css; charset=utf-8');
    expect((await api('GET', 'console/host.json')).status).toBe(404);
    expect((await api('GET', 'console/..%2F..%2Fhost.json')).status).toBe(404);
  });

  it('previews an .eml under the current settings and stores nothing', async () => {
    const before = await mailRecords(scenario, demo.id);
    const preview = await api('POST', `helpdesks/${demo.id}/preview`, {
      body: legalMail,
      headers: { 'content-type': 'message/rfc822' },
    });
    expect(preview.status).toBe(200);
    expect(preview.json()).toMatchObject({
      subject: 'A legal question about our contract',
      decision: { action: 'keepAside', reason: 'kept aside by rule legal for manual handling' },
      rules: [{ id: 'legal', matched: true }],
    });
    expect(preview.json().html).not.toContain('<script');
    const newRequest = readFileSync(path.join(samples, '01-new-request.eml'));
    const created = await api('POST', `helpdesks/${demo.id}/preview?mailbox=servicedesk`, {
      body: newRequest,
      headers: { 'content-type': 'message/rfc822' },
    });
    expect(created.json().decision.action).toBe('createTicket');
    expect(await mailRecords(scenario, demo.id)).toEqual(before);
    expect(scenario.local.graph.messages(DEMO_MAILBOX, 'inbox').every((m) => !m.isRead)).toBe(true);
  });

  it('refuses what is no mail to preview, naming why', async () => {
    const post = (route: string, body: string | Buffer, headers: Record<string, string>) =>
      api('POST', `helpdesks/${route}`, { body, headers });
    const json = await post(`${demo.id}/preview`, '{}', { 'content-type': 'application/json' });
    expect([json.status, json.json().error.code]).toEqual([415, 'unsupportedMediaType']);
    const empty = await post(`${demo.id}/preview`, '', { 'content-type': 'message/rfc822' });
    expect([empty.status, empty.json().error.field]).toEqual([400, 'body']);
    const big = await post(`${demo.id}/preview`, Buffer.alloc(PREVIEW_MAX_BYTES + 1, 'a'), {
      'content-type': 'message/rfc822',
    });
    expect([big.status, big.json().error.code]).toEqual([413, 'payloadTooLarge']);
    const mailbox = await post(`${demo.id}/preview?mailbox=nope`, legalMail, {
      'content-type': 'message/rfc822',
    });
    expect([mailbox.status, mailbox.json().error.field]).toEqual([400, 'query.mailbox']);
    const unknown = await post('nohelpdesk/preview', legalMail, { 'content-type': 'message/rfc822' });
    expect(unknown.status).toBe(404);
  });
});

describe.skipIf(browserMissing() !== null)('the console in Chromium', () => {
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];

  const shoot = async (name: string) => {
    // Chromium paints a frame below the fold only once it has been in view.
    for (const frame of await page.locator('iframe').all()) await frame.scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
  };

  beforeAll(async () => {
    await mkdir(SCREENSHOTS, { recursive: true });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    // A script error or a CSP violation (reported as a console error) fails the run.
    page.on('pageerror', (error) => problems.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error' && !/status of 4\d\d/.test(message.text()))
        problems.push(message.text());
    });
  });

  afterAll(async () => {
    await browser?.close();
  });

  it('shows each mailbox of the helpdesk with its status', async () => {
    await page.goto(`${host.httpUrl}/api/console?helpdesk=${demo.id}`);
    const row = page.locator('tr[data-mailbox="servicedesk"]');
    await row.waitFor();
    expect(await row.locator('td').nth(1).textContent()).toBe('—');
    expect(await page.locator('.helpdesk h2').textContent()).toContain('enabled');
    await shoot('helpdesks');
  });

  it('imports now and shows the per-mailbox report, then the status of that run', async () => {
    await page.getByRole('button', { name: 'Import now' }).click();
    const report = page.locator('table.report tbody tr');
    await report.waitFor({ timeout: 30_000 });
    const cells = await report.locator('td').allTextContents();
    expect(cells[0]).toBe('servicedesk');
    expect(cells[1]).toMatch(/^done/);
    expect(cells[1]).toContain('kept aside by rule legal');
    expect(cells[2]).toMatch(/^#\d+(, #\d+)*$/);
    expect(cells[5]).toBe('1');
    const status = page.locator('tr[data-mailbox="servicedesk"] td');
    await expect.poll(() => status.nth(1).textContent()).not.toBe('—');
    expect(await status.nth(5).textContent()).toBe('1');
    await shoot('helpdesks-after-import');
  });

  it('saves a setting, and shows a refused one next to its field', async () => {
    await page.goto(`${host.httpUrl}/api/console#/${demo.id}/settings`);
    const separator = page.locator('input[name="replySeparator"]');
    await separator.fill('---- write above this line ----');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await page.locator('.save-bar .saved').waitFor();
    expect((await api('GET', `helpdesks/${demo.id}/importer`)).json().replySeparator).toBe(
      '---- write above this line ----',
    );

    await page.locator('input[name="defaultContactId"]').fill('nobody');
    await page.getByRole('button', { name: 'Save settings' }).click();
    const contactError = page.locator('.field:has(input[name="defaultContactId"]) .field-error');
    await expect.poll(() => contactError.textContent()).toBe('no such contact in this helpdesk');
    await shoot('settings-field-error');
    await page.locator('input[name="defaultContactId"]').fill('unknown-sender');
  });

  it("builds a rule's conditions with a nested any-group, and shows a refused pattern at its value", async () => {
    // Beside the rule's one condition: a group of any, of a header that exists and a pattern.
    const when = 'mailboxes.0.rules.0.when';
    const conditions = page.locator(`[data-conditions="${when}"]`);
    await conditions.getByRole('button', { name: 'Add group' }).click();
    const group = page.locator(`[data-condition="${when}.all.1"]`);
    const first = `${when}.all.1.any.0`;
    await page.selectOption(`select[name="${first}.field"]`, 'header:');
    await group.locator('input.header-name').fill('X-Legal-Case');
    await page.selectOption(`select[name="${first}.op"]`, 'exists');
    expect(await page.locator(`input[name="${first}.value"]`).count()).toBe(0);
    await group.getByRole('button', { name: 'Add condition' }).click();
    const second = `${when}.all.1.any.1`;
    await page.selectOption(`select[name="${second}.op"]`, 'matches');
    // A lookahead, which RE2 cannot run: refused by the server, shown at this value and nowhere else.
    await page.locator(`input[name="${second}.value"]`).fill('(?=legal)');
    await page.getByRole('button', { name: 'Save settings' }).click();
    const valueError = page.locator(`.field:has(input[name="${second}.value"]) .field-error`);
    await expect.poll(() => valueError.textContent()).toMatch(/^invalid regular expression/);
    expect(await page.locator('.field-error').count()).toBe(1);
    await shoot('settings-condition-error');

    await page.locator(`input[name="${second}.value"]`).fill('lawsuit');
    await page.locator(`[data-condition="${second}"] input.negate`).check();
    await page.getByRole('button', { name: 'Save settings' }).click();
    await page.locator('.save-bar .saved').waitFor();
    const expected = {
      all: [
        { field: 'subject', op: 'contains', value: 'legal', caseSensitive: false },
        {
          any: [
            { field: 'header:X-Legal-Case', op: 'exists', caseSensitive: false },
            { not: { field: 'subject', op: 'matches', value: 'lawsuit', caseSensitive: false } },
          ],
        },
      ],
    };
    expect((await api('GET', `helpdesks/${demo.id}/importer`)).json().mailboxes[0].rules[0].when).toEqual(
      expected,
    );

    // Drawn afresh from the stored settings: the same builder.
    await page.reload();
    await page.locator(`select[name="${first}.field"]`).waitFor();
    expect(await page.locator(`select[name="${when}.all.1:kind"]`).inputValue()).toBe('any');
    expect(await group.locator('input.header-name').inputValue()).toBe('X-Legal-Case');
    expect(await page.locator(`select[name="${first}.op"]`).inputValue()).toBe('exists');
    expect(await page.locator(`[data-condition="${second}.not"] input.negate`).isChecked()).toBe(true);
    expect(await page.locator(`input[name="${second}.not.value"]`).inputValue()).toBe('lawsuit');
    await shoot('settings-conditions');
  });

  it("sets a ticket field from the helpdesk's lists with a rule: the assignee", async () => {
    const action = 'mailboxes.0.rules.0.then.1';
    await page.getByRole('button', { name: 'Add action' }).click();
    await page.selectOption(`select[name="${action}.action"]`, 'setField');
    await page.selectOption(`select[name="${action}.field"]`, 'assigneeId');
    await page.locator(`input[name="${action}.value"]`).fill('emp-3');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await expect
      .poll(
        async () => (await api('GET', `helpdesks/${demo.id}/importer`)).json().mailboxes[0].rules[0].then[1],
      )
      .toEqual({ action: 'setField', field: 'assigneeId', value: 'emp-3' });

    // Taken out again, so the rule keeps only its keep-aside for the tests after this one.
    await page.getByRole('button', { name: 'Remove action' }).nth(1).click();
    await page.getByRole('button', { name: 'Save settings' }).click();
    await expect
      .poll(async () => (await api('GET', `helpdesks/${demo.id}/importer`)).json().mailboxes[0].rules[0].then)
      .toEqual([{ action: 'keepAside' }]);
  });

  it('says when the settings were changed by someone else meanwhile', async () => {
    const separator = page.locator('input[name="replySeparator"]');
    // Someone else saves meanwhile: the console's version is stale, and it says so.
    const current = await api('GET', `helpdesks/${demo.id}/importer`);
    const changed = { ...current.json(), replySeparator: 'changed elsewhere' };
    const put = await api('PUT', `helpdesks/${demo.id}/importer`, {
      body: JSON.stringify(changed),
      headers: { 'content-type': 'application/json' },
    });
    expect(put.status).toBe(200);
    await page.getByRole('button', { name: 'Save settings' }).click();
    await expect
      .poll(() => page.locator('.save-bar .problem').textContent())
      .toContain('changed by someone else');
    await page.getByRole('button', { name: 'Reload the settings' }).click();
    await expect.poll(() => separator.inputValue()).toBe('changed elsewhere');
  });

  it('lists the kept-aside mail, shows it safely, downloads its .eml and resolves it', async () => {
    await page.goto(`${host.httpUrl}/api/console#/${demo.id}/messages`);
    const row = page.locator('table.messages tbody tr');
    await row.first().waitFor();
    expect(await row.count()).toBe(1);
    expect(await row.locator('td').nth(5).textContent()).toContain('legal');
    await shoot('messages');
    await page.locator('input[name="subject"]').fill('no such subject');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.getByText('No mail here.').waitFor();
    await page.locator('input[name="subject"]').fill('LEGAL');
    await page.getByRole('button', { name: 'Filter' }).click();
    await expect.poll(() => row.count()).toBe(1);
    await row.getByRole('link').click();

    const frame = page.locator('iframe.mail-html');
    await frame.waitFor();
    expect(await frame.getAttribute('sandbox')).toBe('');
    expect(await page.frameLocator('iframe.mail-html').locator('b').textContent()).toBe('contract');
    expect(await page.title()).not.toBe('ran');
    expect(await page.locator('table.attachments').textContent()).toContain('contract.pdf');
    // The inline image of a mail never imported, from the answer's data: URL (nothing serves it otherwise).
    expect(await naturalSize(page.frameLocator('iframe.mail-html').locator('img[alt="signature"]'))).toEqual([
      20, 10,
    ]);

    const download = page.waitForEvent('download');
    await page.getByRole('link', { name: 'Download the original .eml' }).click();
    const eml = await download;
    expect(eml.suggestedFilename()).toMatch(/\.eml$/);
    expect(readFileSync(await eml.path())).toEqual(legalMail);
    await shoot('message-detail');

    // Discarding needs a note: the server's refusal is shown, and the mail stays as it was.
    await page.getByRole('button', { name: 'Discard' }).click();
    await expect.poll(() => page.locator('p.problem').textContent()).toMatch(/^body\.note: /);

    const [ticket] = await scenario.deps.tickets.listTickets(demo.id);
    if (!ticket) throw new Error('the import made no ticket');
    await page.locator('input[name="by"]').fill('Eva');
    await page.locator('input[name="ticketNumber"]').fill(String(ticket.number));
    await page.getByRole('button', { name: 'Add to this ticket' }).click();
    expect(await page.getByRole('status').textContent()).toBe(
      `Resolved: linkToTicket (ticket #${ticket.number}), done.`,
    );
    const record = (await mailRecords(scenario, demo.id)).find((r) => r.subject?.includes('legal'));
    expect(record?.state).toBe('stored');
    expect(await page.getByRole('button', { name: 'Add to this ticket' }).count()).toBe(0);
  });

  it('previews a dropped .eml, its inline image shown in the frame', async () => {
    await page.goto(`${host.httpUrl}/api/console#/${demo.id}/preview`);
    await page.locator('select[name="mailbox"] option').first().waitFor({ state: 'attached' });
    const illustrated = await rawMail({
      from: 'Karin Smit <karin@customer.example>',
      to: DEMO_MAILBOX,
      subject: 'A legal question about our contract',
      text: 'Can we end the contract early?\n',
      html: '<p>Can we end the <b>contract</b> early?</p><p><img alt="clause" src="cid:clause@customer.example"></p>',
      attachments: [
        { content: pngImage(4, 24, 12), contentType: 'image/png', cid: 'clause@customer.example' },
      ],
    });
    // The drop a person makes: a drop event whose DataTransfer holds the file.
    const drop = await page.evaluateHandle(
      `(() => {
        const bytes = Uint8Array.from(atob(${JSON.stringify(illustrated.toString('base64'))}), (c) => c.charCodeAt(0));
        const transfer = new DataTransfer();
        transfer.items.add(new File([bytes], 'legal.eml', { type: 'message/rfc822' }));
        return transfer;
      })()`,
    );
    await page.dispatchEvent('.dropzone', 'drop', { dataTransfer: drop });
    const decision = page.locator('p.decision');
    await decision.waitFor();
    expect(await decision.textContent()).toBe('keepAside: kept aside by rule legal for manual handling');
    expect(await page.locator('table.rules tbody tr').first().textContent()).toBe('legalyeskeepAside');
    // The image, loaded from the answer's data: URL inside the sandboxed frame (the policy allows data: images).
    expect(await naturalSize(page.frameLocator('iframe.mail-html').locator('img[alt="clause"]'))).toEqual([
      24, 12,
    ]);
    await shoot('preview');
  });

  it('ran without a script error or a policy violation', () => {
    expect(problems).toEqual([]);
  });
});
