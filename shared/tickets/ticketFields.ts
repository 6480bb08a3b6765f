import { listedEntry } from '../helpdesk/helpdeskLists.js';
import {
  type Helpdesk,
  importedStatus,
  type ListEntry,
  type PersonReference,
  statusById,
} from '../helpdesk/settings.js';
import type { TicketLink } from '../rules/evaluateRules.js';
import type { SettableField } from '../rules/ruleGrammar.js';
import type {
  AttachmentNotStored,
  Contact,
  HistoryEntry,
  MailOrigin,
  StoredFile,
  StoredImage,
  Supplement,
  Ticket,
} from './model.js';
import { supplementId, ticketKey } from './model.js';

/** What the rules add to a ticket (R19): field values and links. */
export interface RuleChanges {
  setFields: Partial<Record<SettableField, string>>;
  links: TicketLink[];
}

const NO_RULE_CHANGES: RuleChanges = { setFields: {}, links: [] };

type IdField = Exclude<SettableField, 'assigneeId' | 'departmentId'>;

/** The fields a rule sets, as they go on the ticket: ids, and the assignee and department with their names. */
export interface TicketFieldValues {
  ids: Partial<Record<IdField, string>>;
  assignee?: PersonReference;
  department?: ListEntry;
  /**
   * `field value` of each value the helpdesk's lists no longer hold (an entry removed since the rule was
   * saved or the plan stored): not set, and said so in the ticket's history.
   */
  notSet: string[];
}

/** Checks the values a rule or a person sets against the helpdesk's lists as they are when the ticket is written. */
export function ticketFieldValues(
  helpdesk: Helpdesk,
  setFields: Partial<Record<SettableField, string>>,
): TicketFieldValues {
  const values: TicketFieldValues = { ids: {}, notSet: [] };
  for (const [field, id] of Object.entries(setFields) as Array<[SettableField, string]>) {
    const entry = listedEntry(helpdesk, field, id);
    if (entry === undefined) values.notSet.push(`${field} ${id}`);
    else if (field === 'assigneeId') values.assignee = entry ?? { id, name: id };
    else if (field === 'departmentId') values.department = entry ?? { id, name: id };
    else values.ids[field] = id;
  }
  return values;
}

/** The ticket's links with new ones added once each. */
export function mergeLinks(existing: readonly TicketLink[], added: readonly TicketLink[]): TicketLink[] {
  const merged = [...existing];
  for (const link of added) {
    if (!merged.some((l) => l.entity === link.entity && l.number === link.number)) merged.push(link);
  }
  return merged;
}

/** What the import knows about one mail when it writes a ticket or supplement. */
export interface ImportedContent {
  subject: string;
  /** Mail received time (reported at). */
  receivedAt: string;
  text: string;
  html: string;
  /**
   * The reply without the quoted history (R9), text and safe HTML: worked out for a supplement only, as a new
   * ticket keeps the whole mail.
   */
  reply: { text: string; html: string } | null;
  images: StoredImage[];
  files: StoredFile[];
  attachmentsNotStored: AttachmentNotStored[];
  origin: MailOrigin;
}

/** The sender's contact, or the helpdesk's default contact when the address is unknown (R7, R8). */
export interface ResolvedContact {
  contact: Contact;
  /** The sender's own address, even when the default contact stands in. */
  senderAddress: string | null;
  isDefault: boolean;
}

function contactReference(contact: Contact): PersonReference {
  return { id: contact.id, name: contact.name };
}

const MAX_TITLE_LENGTH = 255;

export function ticketTitle(subject: string): string {
  const title = subject.replace(/\s+/g, ' ').trim();
  if (title === '') return '(no subject)';
  return title.length > MAX_TITLE_LENGTH ? `${title.slice(0, MAX_TITLE_LENGTH - 1)}…` : title;
}

/** R7: every field of a ticket created from a mail. */
export function newTicketFields(input: {
  helpdesk: Helpdesk;
  ticketNumber: number;
  sender: ResolvedContact;
  content: ImportedContent;
  importedAt: string;
  rules?: RuleChanges;
}): Ticket {
  const { helpdesk, ticketNumber, sender, content, importedAt } = input;
  const rules = input.rules ?? NO_RULE_CHANGES;
  const set = ticketFieldValues(helpdesk, rules.setFields);
  const fields = set.ids;
  const employee = helpdesk.importer.defaultEmployee;
  const participants = [sender.contact.emailLower, sender.senderAddress].filter(
    (address): address is string => !!address,
  );
  return {
    id: 'ticket',
    docType: 'ticket',
    ticketKey: ticketKey(helpdesk.id, ticketNumber),
    helpdeskId: helpdesk.id,
    number: ticketNumber,
    organisation: sender.contact.organisation,
    contact: { ...contactReference(sender.contact), email: sender.contact.emailLower },
    createdBy: employee,
    reportedAt: content.receivedAt,
    channel: 'mail',
    mailSubject: content.subject,
    title: ticketTitle(content.subject),
    requestText: content.text,
    requestHtml: content.html,
    images: content.images,
    ...(content.files.length > 0 ? { files: content.files } : {}),
    typeId: fields.typeId ?? helpdesk.defaults.typeId ?? null,
    priorityId: fields.priorityId ?? helpdesk.defaults.priorityId ?? null,
    environmentId: fields.environmentId ?? helpdesk.defaults.environmentId ?? null,
    categoryId: fields.categoryId ?? null,
    subcategoryId: null,
    ticketManager: helpdesk.defaults.ticketManager ?? null,
    assignee: set.assignee ?? helpdesk.defaults.assignee ?? null,
    department: set.department ?? null,
    relatedTicketNumber: null,
    externalId: null,
    plannedDate: null,
    deadline: null,
    recalculateDeadline: helpdesk.recalculateDeadline,
    inProgressDate: null,
    completedDate: null,
    projectId: null,
    evaluation: null,
    timeEstimateHours: null,
    statusId: fields.statusId ?? importedStatus(helpdesk).id,
    participants: [...new Set(participants)],
    links: mergeLinks([], rules.links),
    lastModifiedAt: importedAt,
    lastModifiedBy: employee,
    source: content.origin,
  };
}

/** R8: the supplement itself. */
export function supplementFields(input: {
  helpdesk: Helpdesk;
  ticket: Ticket;
  sender: ResolvedContact;
  content: ImportedContent;
  importedAt: string;
  flagged: string | null;
  automatic: string | null;
  /** For a person only: hidden from the customer whatever the next status says. */
  internal: boolean;
}): Supplement {
  const { helpdesk, ticket, sender, content, importedAt } = input;
  const nextStatus = statusById(helpdesk, helpdesk.statusAfterCustomerSupplementId);
  return {
    id: supplementId(content.origin.messageKey),
    docType: 'supplement',
    ticketKey: ticket.ticketKey,
    helpdeskId: helpdesk.id,
    ticketNumber: ticket.number,
    reportedAt: content.receivedAt,
    supplementType: 'importedFromMail',
    informationProvider: contactReference(sender.contact),
    createdBy: contactReference(sender.contact),
    description: content.reply?.text ?? content.text,
    descriptionHtml: content.reply?.html ?? content.html,
    fullText: content.text,
    images: content.images,
    ...(content.files.length > 0 ? { files: content.files } : {}),
    visibleToCustomer: !input.internal && (nextStatus?.visibleToCustomer ?? true),
    expanded: nextStatus?.expanded ?? true,
    flagged: input.flagged,
    automatic: input.automatic,
    lastModifiedAt: importedAt,
    lastModifiedBy: helpdesk.importer.defaultEmployee,
    source: content.origin,
  };
}

/** R8: what a supplement changes on its ticket; priority, assignee, planned date and estimate stay. */
export interface TicketChangeOnSupplement {
  statusId: string;
  /**
   * Fields set by rules (R19), other than the status, that differ from the ticket's: one Cosmos DB patch
   * operation each.
   */
  fields: Partial<
    Record<Exclude<IdField, 'statusId'>, string> & { assignee: PersonReference; department: ListEntry }
  >;
  /** The ticket's links, with those of this mail added. */
  links: TicketLink[];
  deadline: string | null;
  participants: string[];
  lastModifiedAt: string;
  lastModifiedBy: PersonReference;
}

export function ticketChangeOnSupplement(input: {
  helpdesk: Helpdesk;
  ticket: Ticket;
  sender: ResolvedContact;
  receivedAt: string;
  importedAt: string;
  /** Whether the sender joins the ticket's participants (not for unrelated or automatic mail). */
  addSender: boolean;
  /** An internal supplement leaves the ticket's status and deadline as they are. */
  internal: boolean;
  rules?: RuleChanges;
}): TicketChangeOnSupplement {
  const { helpdesk, ticket, sender, receivedAt, importedAt } = input;
  const rules = input.rules ?? NO_RULE_CHANGES;
  const set = ticketFieldValues(helpdesk, rules.setFields);
  const { statusId, ...ids } = set.ids;
  const fields: TicketChangeOnSupplement['fields'] = {};
  for (const [field, id] of Object.entries(ids) as Array<[keyof typeof ids, string]>) {
    if (ticket[field] !== id) fields[field] = id;
  }
  if (set.assignee && set.assignee.id !== ticket.assignee?.id) fields.assignee = set.assignee;
  if (set.department && set.department.id !== ticket.department?.id) fields.department = set.department;
  const deadline =
    !input.internal && ticket.recalculateDeadline
      ? recalculatedDeadline(ticket, helpdesk.deadlineHours, receivedAt)
      : ticket.deadline;
  const participants = new Set(ticket.participants);
  if (sender.senderAddress && input.addSender) participants.add(sender.senderAddress);
  return {
    statusId: input.internal ? ticket.statusId : (statusId ?? helpdesk.statusAfterCustomerSupplementId),
    fields,
    links: mergeLinks(ticket.links ?? [], rules.links),
    deadline,
    participants: [...participants],
    lastModifiedAt: importedAt,
    lastModifiedBy: helpdesk.importer.defaultEmployee,
  };
}

/**
 * Seed 000: the deadline on a supplement works "as a supplement in the portal": it may stay, or, with the
 * ticket's recalculation flag on, move. The clock restarts at the customer's mail: the helpdesk's
 * `deadlineHours` from then; without that setting, the ticket's own lead time (deadline minus reported
 * at) from then. A ticket with neither has nothing to recalculate from and keeps its deadline.
 */
export function recalculatedDeadline(
  ticket: Pick<Ticket, 'deadline' | 'reportedAt'>,
  deadlineHours: number | undefined,
  receivedAt: string,
): string | null {
  const received = Date.parse(receivedAt);
  if (deadlineHours !== undefined) return new Date(received + deadlineHours * 3_600_000).toISOString();
  if (ticket.deadline === null) return null;
  const leadMs = Date.parse(ticket.deadline) - Date.parse(ticket.reportedAt);
  return leadMs > 0 ? new Date(received + leadMs).toISOString() : ticket.deadline;
}

export function historyEntry(input: {
  ticket: Pick<Ticket, 'ticketKey' | 'helpdeskId' | 'number'>;
  event: HistoryEntry['event'];
  at: string;
  by: PersonReference;
  text: string;
  messageKey: string;
  attachmentsNotStored?: AttachmentNotStored[];
}): HistoryEntry {
  return {
    // Deterministic id: a redelivered job writes the same entry again instead of a second one.
    id: `history-${input.event}-${input.messageKey}`,
    docType: 'history',
    ticketKey: input.ticket.ticketKey,
    helpdeskId: input.ticket.helpdeskId,
    ticketNumber: input.ticket.number,
    at: input.at,
    by: input.by,
    event: input.event,
    text: input.text,
    attachmentsNotStored: input.attachmentsNotStored ?? [],
    messageKey: input.messageKey,
  };
}

export function describeAttachments(list: AttachmentNotStored[]): string {
  if (list.length === 0) return '';
  const lines = list.map(
    (a) => `- ${a.filename ?? '(unnamed)'} (${a.contentType}, ${a.size} bytes): ${a.reason}`,
  );
  return `\nAttachments not stored:\n${lines.join('\n')}`;
}
