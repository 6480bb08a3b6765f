import { z } from 'zod';
import { mailFolderProblem } from '../graph/mailFolders.js';
import { replySettingsSchema } from '../replies/replyTemplate.js';
import { linkCriteriaSchema, rulesSchema } from '../rules/ruleSettings.js';
import { patternProblem } from '../text/safeRegex.js';

/** Identifiers used in URLs, queue messages and partition keys. */
export const identifier = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/,
    'letters, digits, ".", "_" and "-" (at most 64), starting with a letter or digit',
  );

const headerSafeText = (max: number) =>
  z
    .string()
    .max(max)
    .refine((value) => !/[\r\n]/.test(value), 'must not contain line breaks');

export const personReference = z.object({ id: identifier, name: z.string().min(1).max(200) });
export type PersonReference = z.infer<typeof personReference>;

export const postProcessingSchema = z.discriminatedUnion('action', [
  z.strictObject({ action: z.literal('markRead') }),
  z.strictObject({ action: z.literal('move'), folder: z.string().min(1).max(255) }),
  z.strictObject({ action: z.literal('delete') }),
]);
export type PostProcessing = z.infer<typeof postProcessingSchema>;

export const mailboxSettingsSchema = z.strictObject({
  /** The mailbox's id within the helpdesk; used in job messages and status. */
  id: identifier,
  /** Graph user id or UPN of the mailbox. */
  userId: z.string().min(3).max(320),
  /** Folder to read: a well-known name (inbox), a folder id, or the display name of a top-level folder. */
  folder: z
    .string()
    .max(512)
    .superRefine((folder, ctx) => {
      const problem = mailFolderProblem(folder);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    })
    .default('inbox'),
  /**
   * unread: unread mail only; sinceLastScan: every mail received since the last successful scan; delta:
   * every mail new or changed in the folder since the last round of Graph's messages/delta, read or not
   * (R5).
   */
  scan: z.enum(['unread', 'sinceLastScan', 'delta']).default('unread'),
  postProcessing: postProcessingSchema.default({ action: 'markRead' }),
  /** Rules for this mailbox's mail, evaluated in order (R19); see shared/rules/ruleSettings.ts. */
  rules: rulesSchema,
});
export type MailboxSettings = z.infer<typeof mailboxSettingsSchema>;

const acknowledgementTemplate = z.strictObject({
  enabled: z.boolean().default(false),
  /** Placeholders: {ticketNumber}, {title}, {contactName}, {helpdeskName}. */
  subject: headerSafeText(255).default('[#{ticketNumber}] {title}'),
  body: z
    .string()
    .max(20_000)
    .default(
      'Dear {contactName},\n\nWe received your message and registered it as ticket {ticketNumber}.\n\n{helpdeskName}',
    ),
});

const entraGroupId = z
  .string()
  .regex(
    /^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$/,
    'an Entra group object id',
  )
  .transform((id) => id.toLowerCase());

/**
 * Strict: an unknown key (a misspelt setting) is refused, naming the key, rather than dropped. The rest of
 * the helpdesk document belongs to the helpdesk application and may carry fields the importer ignores.
 */
export const importerSettingsSchema = z
  .strictObject({
    enabled: z.boolean().default(true),
    /**
     * Who may manage this helpdesk through the API when it runs with Microsoft Entra ID
     * (MANAGEMENT_AUTH=entra): members of these Entra groups, or callers holding one of these app roles.
     * Empty: nobody, until an administrator sets it when creating the helpdesk.
     */
    administrators: z
      .strictObject({
        groupIds: z.array(entraGroupId).max(20).default([]),
        appRoles: z
          .array(z.string().regex(/^[A-Za-z0-9._-]{1,120}$/, 'an app role value'))
          .max(20)
          .default([]),
      })
      .prefault({}),
    mailboxes: z
      .array(mailboxSettingsSchema)
      .min(1)
      .max(50)
      .refine((list) => new Set(list.map((m) => m.id)).size === list.length, 'mailbox ids must be unique'),
    defaultContactId: identifier,
    defaultEmployee: z.strictObject(personReference.shape),
    /** Text of the reply separator line; on a supplement only the text above it is imported (R9). */
    replySeparator: z.string().max(200).default(''),
    /** Extra subject patterns (regular expressions with one capture group holding the number), run by RE2. */
    subjectPatterns: z
      .array(
        z.string().superRefine((source, context) => {
          const problem = patternProblem(source, { groups: 1 });
          if (problem !== null) context.addIssue({ code: 'custom', message: problem });
        }),
      )
      .max(10)
      .default([]),
    /** Keywords in the subject that link a ticket to a relation, a project, … by the number after them (R19). */
    linkCriteria: linkCriteriaSchema,
    attachments: z
      .strictObject({
        maxImageBytes: z.number().int().min(1024).max(50_000_000).default(10_000_000),
        maxImagesBytesPerMessage: z.number().int().min(1024).max(200_000_000).default(30_000_000),
        maxMessageBytes: z.number().int().min(10_000).max(200_000_000).default(60_000_000),
        archiveRawMail: z.boolean().default(false),
        archiveAttachments: z.boolean().default(false),
        allowExternalImages: z.boolean().default(false),
        /**
         * Which attachments are stored with the ticket: only images, or every file. With "all" the image
         * limits (maxImageBytes, maxImagesBytesPerMessage) bound every stored file.
         */
        keep: z.enum(['images', 'all']).default('images'),
      })
      .prefault({}),
    /** What an auto-reply (out-of-office) to a known ticket does (R15). */
    autoReplies: z.enum(['supplement', 'skip']).default('skip'),
    /**
     * A ticket number in the subject from a sender unrelated to that ticket (R18). Ticket numbers are easy
     * to guess, so by default such a mail is an internal supplement (not visible to the customer, the
     * ticket's status unchanged) flagged for a person to review. accept and acceptAndFlag write it like the
     * customer's own reply (acceptAndFlag also flags it); newTicket makes it a ticket of its own.
     */
    unrelatedSender: z
      .enum(['internalAndFlag', 'accept', 'acceptAndFlag', 'newTicket'])
      .default('internalAndFlag'),
    acknowledgement: z
      .strictObject({
        newTicket: acknowledgementTemplate.prefault({}),
        supplement: acknowledgementTemplate.prefault({}),
        /** Counted per normalised sender address (lower case, plus tag removed). */
        maxPerSenderPerHour: z.number().int().min(0).max(100).default(5),
        maxPerSenderPerDay: z.number().int().min(0).max(1000).default(20),
        /** All acknowledgements of the helpdesk together: a flood of distinct senders stops here. */
        maxPerHelpdeskPerHour: z.number().int().min(0).max(10_000).default(100),
        /**
         * Answer only mail whose From the receiving server authenticated (DMARC, or aligned SPF or DKIM, in
         * the topmost Authentication-Results header). Off only where no server stamps that header.
         */
        onlyAuthenticatedSenders: z.boolean().default(true),
        /** The receiving server's authserv-id(s), when it names itself; empty for Exchange Online. */
        trustedAuthservIds: z
          .array(z.string().regex(/^[A-Za-z0-9.-]{1,253}$/, 'a host name'))
          .max(10)
          .default([]),
      })
      .prefault({}),
    keepAside: z
      .strictObject({
        maxAttempts: z.number().int().min(1).max(20).default(3),
        category: headerSafeText(100).min(1).default('Import failed'),
        folder: z.string().min(1).max(255).optional(),
      })
      .prefault({}),
    /** Agent replies by mail (R21): the mailbox they leave from and their templates. */
    replies: replySettingsSchema,
  })
  .superRefine((importer, ctx) => {
    const outbound = importer.replies.outboundMailboxId;
    if (outbound !== undefined && !importer.mailboxes.some((m) => m.id === outbound)) {
      ctx.addIssue({
        code: 'custom',
        path: ['replies', 'outboundMailboxId'],
        message: 'must be the id of one of the mailboxes',
      });
    }
  });
export type ImporterSettings = z.infer<typeof importerSettingsSchema>;

export const statusSchema = z.object({
  id: identifier,
  name: z.string().min(1).max(100),
  flags: z.array(z.enum(['imported', 'closed', 'waitingForCustomer'])).default([]),
  /** For supplements written while the ticket gets this status. */
  visibleToCustomer: z.boolean().default(true),
  expanded: z.boolean().default(true),
});
export type TicketStatus = z.infer<typeof statusSchema>;

/** An entry of one of the helpdesk's lists (employees, departments, priorities, …): an id and a name. */
export type ListEntry = PersonReference;

/**
 * Kept by the helpdesk application and only read here: no limits of the importer's own, so a long list or a
 * repeated id there never stops the import (the first entry with an id is the one).
 */
const list = z.array(personReference);

export const helpdeskSchema = z
  .object({
    id: identifier,
    name: z.string().min(1).max(200),
    /** Prefix of this helpdesk's ticket numbers in subjects, e.g. "HD" for "HD-123". */
    ticketPrefix: z
      .string()
      .regex(/^[A-Za-z][A-Za-z0-9]{0,9}$/, '1-10 letters or digits, starting with a letter')
      .optional(),
    defaults: z
      .object({
        typeId: identifier.optional(),
        priorityId: identifier.optional(),
        environmentId: identifier.optional(),
        ticketManager: personReference.optional(),
        assignee: personReference.optional(),
      })
      .prefault({}),
    recalculateDeadline: z.boolean().default(false),
    /** Hours from a customer's mail to the deadline, used when a ticket's deadline is recalculated. */
    deadlineHours: z.number().positive().max(8760).optional(),
    statuses: z
      .array(statusSchema)
      .min(1)
      .refine((list) => list.filter((s) => s.flags.includes('imported')).length === 1, {
        message: 'exactly one status must carry the flag "imported"',
      }),
    statusAfterCustomerSupplementId: identifier,
    /**
     * The helpdesk's lists that tickets refer to, kept by the helpdesk application; a rule's setField and a
     * person's createTicket may only name their entries (R19). Employees and departments are looked up
     * for their names; the other lists are optional: without one, any id is taken as it is.
     */
    employees: list.default([]),
    departments: list.default([]),
    priorities: list.optional(),
    types: list.optional(),
    categories: list.optional(),
    environments: list.optional(),
    importer: importerSettingsSchema,
  })
  .superRefine((helpdesk, ctx) => {
    if (!helpdesk.statuses.some((s) => s.id === helpdesk.statusAfterCustomerSupplementId)) {
      ctx.addIssue({
        code: 'custom',
        path: ['statusAfterCustomerSupplementId'],
        message: 'must be the id of one of the statuses',
      });
    }
  });
export type Helpdesk = z.infer<typeof helpdeskSchema>;

export function importedStatus(helpdesk: Helpdesk): TicketStatus {
  const status = helpdesk.statuses.find((s) => s.flags.includes('imported'));
  if (!status) throw new Error(`helpdesk ${helpdesk.id} has no status flagged "imported"`);
  return status;
}

export function statusById(helpdesk: Helpdesk, id: string): TicketStatus | undefined {
  return helpdesk.statuses.find((s) => s.id === id);
}
