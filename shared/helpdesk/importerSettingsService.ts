import { type MailboxAllowList, mailboxAllowed } from '../config/mailboxAllowList.js';
import { ApiError } from '../http/errors.js';
import type { ContactDirectory, HelpdeskStore, MailboxStatus } from '../import/ports.js';
import type { ImporterSettings } from './settings.js';

export async function readImporterSettings(
  helpdesks: HelpdeskStore,
  helpdeskId: string,
): Promise<ImporterSettings> {
  const helpdesk = await helpdesks.get(helpdeskId);
  if (!helpdesk) throw new ApiError('notFound', `helpdesk ${helpdeskId} does not exist`);
  return helpdesk.importer;
}

export async function changeImporterSettings(
  helpdesks: HelpdeskStore,
  contacts: ContactDirectory,
  helpdeskId: string,
  importer: ImporterSettings,
  allowedMailboxes: MailboxAllowList,
): Promise<ImporterSettings> {
  if (!(await helpdesks.get(helpdeskId)))
    throw new ApiError('notFound', `helpdesk ${helpdeskId} does not exist`);
  const outside = importer.mailboxes.findIndex(
    (mailbox) => !mailboxAllowed(allowedMailboxes, mailbox.userId),
  );
  if (outside >= 0) {
    const field = `body.mailboxes.${outside}.userId`;
    throw new ApiError('badRequest', `${field}: not a mailbox this deployment may read`, field);
  }
  if (!(await contacts.get(helpdeskId, importer.defaultContactId))) {
    throw new ApiError(
      'badRequest',
      'body.defaultContactId: no such contact in this helpdesk',
      'body.defaultContactId',
    );
  }
  const saved = await helpdesks.saveImporterSettings(helpdeskId, importer);
  if (!saved) throw new ApiError('notFound', `helpdesk ${helpdeskId} does not exist`);
  return saved.importer;
}

/** R4: per mailbox, the last successful check, the last error and the counts of the last run. */
export async function importerStatus(
  helpdesks: HelpdeskStore,
  helpdeskId: string,
): Promise<{ helpdeskId: string; enabled: boolean; mailboxes: MailboxStatus[] }> {
  const helpdesk = await helpdesks.get(helpdeskId);
  if (!helpdesk) throw new ApiError('notFound', `helpdesk ${helpdeskId} does not exist`);
  return {
    helpdeskId,
    enabled: helpdesk.importer.enabled,
    mailboxes: await helpdesks.mailboxStatuses(helpdeskId),
  };
}
