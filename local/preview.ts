/**
 * `npm run preview -- FILE.eml [--settings helpdesk.json] [--mailbox ID]`: prints, as JSON, what the importer
 * would do with one mail, touching no store (see shared/import/previewMail.ts; POST …/preview answers the
 * same). Exit code 0 for any mail that could be read, 2 with a one-line error for an unreadable file or
 * settings.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { type Helpdesk, helpdeskSchema } from '../shared/helpdesk/settings.js';
import { previewMail } from '../shared/import/previewMail.js';
import { demoHelpdesk } from './demoHelpdesk.js';
import { exitWhenWritten } from './exit.js';

class UnreadableInput extends Error {}

async function readSettings(file: string | undefined): Promise<Helpdesk> {
  if (!file) return demoHelpdesk();
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new UnreadableInput(
      `--settings ${file}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  const result = helpdeskSchema.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new UnreadableInput(
      `--settings ${file}: ${issue?.path.join('.') || 'helpdesk'}: ${issue?.message}`,
    );
  }
  return result.data;
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    options: { settings: { type: 'string' }, mailbox: { type: 'string' } },
    allowPositionals: true,
  });
  const file = positionals[0];
  if (!file) {
    throw new UnreadableInput(
      'usage: npm run preview -- FILE.eml [--settings helpdesk.json] [--mailbox MAILBOX-ID]',
    );
  }
  const helpdesk = await readSettings(values.settings);
  if (values.mailbox && !helpdesk.importer.mailboxes.some((m) => m.id === values.mailbox)) {
    throw new UnreadableInput(`--mailbox ${values.mailbox}: no such mailbox in the settings`);
  }
  let raw: Buffer;
  try {
    raw = await readFile(file);
  } catch (error) {
    throw new UnreadableInput(`${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
  process.stdout.write(
    `${JSON.stringify(await previewMail(raw, helpdesk, undefined, values.mailbox), null, 2)}\n`,
  );
  return 0;
}

main().then(
  (code) => exitWhenWritten(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    return exitWhenWritten(2);
  },
);
