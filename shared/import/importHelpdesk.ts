import { ApiError } from '../http/errors.js';
import type { ImportTelemetry } from '../observability/telemetry.js';
import type { ImportDependencies } from './dependencies.js';
import { importMailbox, type MailboxRunResult } from './importMailbox.js';

/** R3: imports a helpdesk's mailboxes now (or one of them) and reports what happened in each. */
export async function importHelpdesk(
  deps: ImportDependencies,
  input: { helpdeskId: string; mailboxId?: string | undefined },
  options: { deadline: number; telemetry: ImportTelemetry },
): Promise<MailboxRunResult[]> {
  const helpdesk = await deps.helpdesks.get(input.helpdeskId);
  if (!helpdesk) throw new ApiError('notFound', `helpdesk ${input.helpdeskId} does not exist`);
  if (!helpdesk.importer.enabled) {
    throw new ApiError('importerDisabled', `the importer of helpdesk ${helpdesk.id} is disabled`);
  }
  const mailboxes = helpdesk.importer.mailboxes.filter((m) => !input.mailboxId || m.id === input.mailboxId);
  if (mailboxes.length === 0) {
    throw new ApiError('notFound', `mailbox ${input.mailboxId} does not exist in helpdesk ${helpdesk.id}`);
  }
  const results: MailboxRunResult[] = [];
  for (const mailbox of mailboxes) {
    results.push(
      await importMailbox(
        deps,
        { helpdeskId: helpdesk.id, mailboxId: mailbox.id },
        { trigger: 'http', ...options },
      ),
    );
  }
  if (results.every((r) => r.status === 'busy')) {
    throw new ApiError(
      'conflict',
      `mailbox ${mailboxes.map((m) => m.id).join(', ')} is already being imported`,
    );
  }
  return results;
}
