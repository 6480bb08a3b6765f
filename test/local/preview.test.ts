import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { demoHelpdesk } from '../../local/demoHelpdesk.js';
import { helpdeskSchema } from '../../shared/helpdesk/settings.js';
import { previewMail } from '../../shared/import/previewMail.js';
import { glpiCorpus, repoRoot } from '../support/fixtures.js';

const run = promisify(execFile);
const tsx = path.join(repoRoot, 'node_modules', '.bin', 'tsx');
const previewScript = path.join(repoRoot, 'local', 'preview.ts');

function mailsUnder(directory: string): string[] {
  return readdirSync(directory).flatMap((name) => {
    const full = path.join(directory, name);
    if (statSync(full).isDirectory()) return mailsUnder(full);
    return name.endsWith('.eml') ? [full] : [];
  });
}

const corpus = mailsUnder(glpiCorpus);
const samples = mailsUnder(path.join(repoRoot, 'samples', 'mail'));

describe('preview', () => {
  it('finds the whole corpus', () => {
    expect(corpus.length).toBeGreaterThanOrEqual(97);
  });

  it.each([...corpus, ...samples].map((file) => [path.relative(repoRoot, file), file]))(
    'previews %s without a crash',
    async (_name, file) => {
      const result = await previewMail(readFileSync(file), demoHelpdesk());
      const decision = result.decision as { action: string; reason: string };
      expect(['createTicket', 'supplement', 'skip', 'keepAside']).toContain(decision.action);
      expect(decision.reason.length).toBeGreaterThan(0);
      if (decision.action !== 'keepAside') {
        expect(Object.keys(result)).toEqual(
          expect.arrayContaining([
            'messageId',
            'from',
            'to',
            'cc',
            'subject',
            'date',
            'classification',
            'ticketNumber',
            'references',
            'text',
            'replyText',
            'html',
            'attachments',
          ]),
        );
        expect(String(result.html)).not.toMatch(/<script|onerror=|javascript:/i);
      }
    },
  );

  it('says what it would do with the demo mail', async () => {
    const decisions = await Promise.all(
      samples
        .sort()
        .map(
          async (file) =>
            ((await previewMail(readFileSync(file), demoHelpdesk())).decision as { action: string }).action,
        ),
    );
    expect(decisions).toEqual([
      'createTicket',
      'supplement',
      'createTicket',
      'createTicket',
      'createTicket',
      'skip',
      'skip',
    ]);
  });

  it('prints JSON and exits 0 for a readable mail, as a command', async () => {
    const { stdout } = await run(tsx, [
      previewScript,
      path.join(repoRoot, 'samples', 'mail', '04-inline-image.eml'),
    ]);
    const result = JSON.parse(stdout) as {
      attachments: Array<{ kept: boolean; detectedType: string }>;
      html: string;
    };
    expect(result.attachments[0]).toMatchObject({ kept: true, detectedType: 'image/png' });
    expect(result.html).toContain('<img');
  });

  it('defect: output piped to another program is not cut at 64 KiB', async () => {
    const lines = Array.from({ length: 4000 }, (_, i) => `Line ${i} of a long log the customer pasted in.`);
    const big = path.join(os.tmpdir(), `preview-big-${process.pid}.eml`);
    await writeFile(
      big,
      [
        'From: Karin Klant <karin@customer.example>',
        'To: desk@demo.test',
        'Subject: Full log',
        'Message-ID: <big-log@customer.example>',
        'Content-Type: text/plain; charset=utf-8',
        '',
        ...lines,
        '',
      ].join('\r\n'),
    );
    // stdout is a pipe here, as in `npm run preview -- big.eml | jq`.
    const { stdout } = await run(tsx, [previewScript, big], { maxBuffer: 64 * 1024 * 1024 });
    expect(stdout.length).toBeGreaterThan(3 * 64 * 1024);
    const result = JSON.parse(stdout) as { text: string };
    expect(result.text).toContain(lines.at(-1));
  });

  it('exits 2 with one line for an unreadable file or bad settings', async () => {
    const missing = await run(tsx, [previewScript, '/no/such/mail.eml']).catch(
      (error: { code: number; stderr: string }) => error,
    );
    expect(missing).toMatchObject({ code: 2 });
    expect((missing as { stderr: string }).stderr.trim().split('\n')).toHaveLength(1);

    const settings = path.join(os.tmpdir(), `preview-settings-${process.pid}.json`);
    await writeFile(settings, JSON.stringify({ id: 'x' }));
    const bad = await run(tsx, [previewScript, samples[0] ?? '', '--settings', settings]).catch(
      (error: { code: number; stderr: string }) => error,
    );
    expect(bad).toMatchObject({ code: 2 });
    expect((bad as { stderr: string }).stderr).toContain('--settings');
  });
});

describe('preview of rules and link criteria (R19)', () => {
  const mail = (subject: string, extraHeaders: string[] = []) =>
    Buffer.from(
      [
        'From: Anna <anna@leverancier.example>',
        'To: desk@demo.test',
        `Subject: ${subject}`,
        'Message-ID: <rules-preview@leverancier.example>',
        ...extraHeaders,
        'Content-Type: text/plain; charset=utf-8',
        '',
        'Zie bijlage.',
        '',
      ].join('\r\n'),
    );
  const rules = [
    {
      id: 'billing',
      name: 'Supplier invoices',
      when: {
        all: [
          { field: 'subject', op: 'contains', value: 'factuur' },
          { field: 'from', op: 'endsWith', value: '@leverancier.example' },
        ],
      },
      actions: [
        { action: 'setField', field: 'priorityId', value: 'high' },
        { action: 'link', entity: 'relation', number: '000123' },
      ],
      stop: true,
    },
    {
      id: 'lists',
      name: 'Lists',
      when: { field: 'header:List-Id', op: 'exists' },
      actions: [{ action: 'ignore' }],
    },
    {
      id: 'legal',
      name: 'Legal',
      when: { field: 'subject', op: 'contains', value: 'legal' },
      actions: [{ action: 'keepAside' }],
    },
  ].map(({ actions, ...rest }) => Object.fromEntries([...Object.entries(rest), ['then', actions]]));

  function settings() {
    const demo = demoHelpdesk();
    const mailboxes = demo.importer.mailboxes.map((m, i) => (i === 0 ? { ...m, rules } : m));
    return {
      ...demo,
      importer: { ...demo.importer, mailboxes, linkCriteria: [{ keyword: 'project', entity: 'project' }] },
    };
  }

  it('shows each rule, the links and the decision that follows, as a command with --settings', async () => {
    const file = path.join(os.tmpdir(), `preview-rules-${process.pid}.eml`);
    const settingsFile = path.join(os.tmpdir(), `preview-rules-${process.pid}.json`);
    await writeFile(file, mail('Factuur 118 voor project 12,3,1'));
    await writeFile(settingsFile, JSON.stringify(settings()));
    const { stdout } = await run(tsx, [previewScript, file, '--settings', settingsFile]);
    const result = JSON.parse(stdout) as Record<string, unknown>;
    expect(result.rules).toEqual([{ id: 'billing', matched: true, actions: rules[0]?.then }]);
    expect(result.links).toEqual([
      { entity: 'project', number: '12,3,1', parts: ['12', '3', '1'], source: 'subject' },
      { entity: 'relation', number: '000123', parts: ['000123'], source: 'rule:billing' },
    ]);
    expect(result.ruleOutcome).toMatchObject({ setFields: { priorityId: 'high' } });
    expect(result.decision).toMatchObject({ action: 'createTicket' });
  });

  it('ignore → skip, keepAside → keepAside', async () => {
    const helpdesk = helpdeskSchema.parse(settings());
    const ignored = await previewMail(mail('Weekly digest', ['List-Id: <news.list.example>']), helpdesk);
    expect(ignored.decision).toEqual({ action: 'skip', reason: 'ignored by rule lists' });
    expect(ignored.rules).toEqual([
      { id: 'billing', matched: false, actions: [] },
      { id: 'lists', matched: true, actions: [{ action: 'ignore' }] },
      { id: 'legal', matched: false, actions: [] },
    ]);
    const aside = await previewMail(mail('A legal question'), helpdesk);
    expect(aside.decision).toEqual({
      action: 'keepAside',
      reason: 'kept aside by rule legal for manual handling',
    });
  });

  it('a rule whose pattern the engine refuses is shown skipped, with why, and the others still decide', async () => {
    const base = settings();
    const [first, ...others] = base.importer.mailboxes;
    const broken = { ...rules[2], id: 'broken', when: { field: 'subject', op: 'matches', value: '(a)\\1' } };
    const helpdesk = helpdeskSchema.parse({
      ...base,
      importer: { ...base.importer, mailboxes: [{ ...first, rules: [broken, ...rules] }, ...others] },
    });
    const aside = await previewMail(mail('A legal question'), helpdesk);
    expect((aside.rules as unknown[])[0]).toMatchObject({
      id: 'broken',
      matched: false,
      error: expect.stringMatching(/^invalid regular expression/),
    });
    expect(aside.decision).toMatchObject({ action: 'keepAside' });
  });
});
