import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { demoHelpdesk } from '../../local/demoHelpdesk.js';
import { previewMail } from '../../local/previewMail.js';
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
