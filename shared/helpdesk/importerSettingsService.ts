import { type MailboxAllowList, mailboxAllowed } from '../config/mailboxAllowList.js';
import { ApiError } from '../http/errors.js';
import type { MailRecordStore } from '../import/mailRecord.js';
import type { ContactDirectory, HelpdeskStore, MailboxStatus } from '../import/ports.js';
import type { NotificationStore } from '../notifications/ports.js';
import { numberPatternProblem, patternProblems } from '../rules/ruleSettings.js';
import { fieldValueProblem } from './helpdeskLists.js';
import type { Helpdesk, ImporterSettings } from './settings.js';

/** Importer settings and their version, which a client sends back to change exactly what it read. */
export interface VersionedImporterSettings {
  importer: ImporterSettings;
  version: string;
}

export async function readImporterSettings(
  helpdesks: HelpdeskStore,
  helpdeskId: string,
): Promise<VersionedImporterSettings> {
  const found = await helpdesks.importerSettings(helpdeskId);
  if (!found) throw new ApiError('notFound', `helpdesk ${helpdeskId} does not exist`);
  return found;
}

/**
 * Replaces the importer settings. `expectedVersions` (If-Match, unquoted) must name the current version, or
 * nothing changes (412); a change by another request between reading and saving is a conflict (409).
 */
export async function changeImporterSettings(
  helpdesks: HelpdeskStore,
  contacts: ContactDirectory,
  helpdeskId: string,
  importer: ImporterSettings,
  allowedMailboxes: MailboxAllowList,
  expectedVersions: string[] | null = null,
): Promise<VersionedImporterSettings> {
  const current = await helpdesks.importerSettings(helpdeskId);
  if (!current) throw new ApiError('notFound', `helpdesk ${helpdeskId} does not exist`);
  const outside = importer.mailboxes.findIndex(
    (mailbox) => !mailboxAllowed(allowedMailboxes, mailbox.userId),
  );
  if (outside >= 0) {
    const field = `body.mailboxes.${outside}.userId`;
    throw new ApiError('badRequest', `${field}: not a mailbox this deployment may read`, field);
  }
  if (expectedVersions && !expectedVersions.includes(current.version.replace(/^"|"$/g, ''))) {
    throw new ApiError(
      'preconditionFailed',
      `the importer settings of helpdesk ${helpdeskId} changed since that version was read; read them again`,
    );
  }
  const refused = ruleProblem(importer, await helpdesks.get(helpdeskId));
  if (refused) throw new ApiError('badRequest', `${refused.field}: ${refused.problem}`, refused.field);
  if (!(await contacts.get(helpdeskId, importer.defaultContactId))) {
    throw new ApiError(
      'badRequest',
      'body.defaultContactId: no such contact in this helpdesk',
      'body.defaultContactId',
    );
  }
  const saved = await helpdesks.saveImporterSettings(helpdeskId, importer, current.version);
  if (!saved) throw new ApiError('notFound', `helpdesk ${helpdeskId} does not exist`);
  if (saved === 'conflict') {
    throw new ApiError(
      expectedVersions ? 'preconditionFailed' : 'conflict',
      `the importer settings of helpdesk ${helpdeskId} were changed by another request at the same time; read them again and retry`,
    );
  }
  return { importer: saved.helpdesk.importer, version: saved.version };
}

/**
 * The first problem of the rules and link criteria that needs the helpdesk or the engine to see: a pattern
 * the engine refuses, or a setField value the helpdesk's lists do not hold. Its field and why; or null.
 */
function ruleProblem(
  importer: ImporterSettings,
  helpdesk: Helpdesk | null,
): { field: string; problem: string } | null {
  for (const [m, mailbox] of importer.mailboxes.entries()) {
    for (const [r, rule] of mailbox.rules.entries()) {
      const at = `body.mailboxes.${m}.rules.${r}`;
      const [pattern] = patternProblems(rule.when);
      if (pattern) return { field: `${at}.when.${pattern.path.join('.')}`, problem: pattern.problem };
      for (const [a, action] of rule.then.entries()) {
        if (action.action !== 'setField' || !helpdesk) continue;
        const problem = fieldValueProblem(helpdesk, action.field, action.value);
        if (problem) return { field: `${at}.then.${a}.value`, problem };
      }
    }
  }
  for (const [c, criterion] of importer.linkCriteria.entries()) {
    const problem = numberPatternProblem(criterion);
    if (problem) return { field: `body.linkCriteria.${c}.numberPattern`, problem };
  }
  return null;
}

type MailboxStatusView = Omit<MailboxStatus, 'delta'> & { delta: { folder: string; at: string } | null };

/** A mailbox's change-notification subscription; `lastError` is a failed create or renewal. */
interface NotificationStatus {
  subscriptionId: string | null;
  expiresAt: string | null;
  renewedAt: string | null;
  lastError: { at: string; message: string } | null;
}

/** R4: per mailbox, the last successful check, the last error and the counts of the last run. */
/** Each mailbox's status with `needsAttention`: its kept-aside and flagged mail, for the helpdesk's alert. */
export async function importerStatus(
  stores: {
    helpdesks: HelpdeskStore;
    records: Pick<MailRecordStore, 'countNeedingAttention'>;
    subscriptions: Pick<NotificationStore, 'subscription'>;
  },
  helpdeskId: string,
): Promise<{
  helpdeskId: string;
  enabled: boolean;
  mailboxes: Array<MailboxStatusView & { needsAttention: number; notifications: NotificationStatus | null }>;
}> {
  const helpdesk = await stores.helpdesks.get(helpdeskId);
  if (!helpdesk) throw new ApiError('notFound', `helpdesk ${helpdeskId} does not exist`);
  const statuses = await stores.helpdesks.mailboxStatuses(helpdeskId);
  return {
    helpdeskId,
    enabled: helpdesk.importer.enabled,
    mailboxes: await Promise.all(
      statuses.map(async ({ delta, ...status }) => {
        const subscription = await stores.subscriptions.subscription(status);
        return {
          ...status,
          // The deltaLink itself is Graph's opaque token: when and for which folder is what a person needs.
          delta: delta ? { folder: delta.folder, at: delta.at } : null,
          needsAttention: await stores.records.countNeedingAttention(helpdeskId, status.mailboxId),
          notifications: subscription && {
            subscriptionId: subscription.subscriptionId,
            expiresAt: subscription.expiresAt,
            renewedAt: subscription.renewedAt,
            lastError: subscription.lastError,
          },
        };
      }),
    ),
  };
}
