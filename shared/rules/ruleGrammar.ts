/**
 * The words of a rule (R19): plain constants without dependencies, so the settings schema (ruleSettings.ts)
 * and the admin console's rule editor use the one list.
 */

export const conditionOps = [
  'contains',
  'notContains',
  'equals',
  'notEquals',
  'startsWith',
  'endsWith',
  'matches',
  'exists',
  'notExists',
] as const;
export type ConditionOp = (typeof conditionOps)[number];

/** The ops that only ask whether the field is there, and so take no value. */
export const valuelessOps: readonly ConditionOp[] = ['exists', 'notExists'];

export const plainFields = [
  'from',
  'fromName',
  'to',
  'cc',
  'replyTo',
  'subject',
  'body',
  'fullText',
  'attachmentName',
  'classification',
  'senderKnown',
  'ticketNumber',
  'mailbox',
] as const;

/** Before a header's name, as a field: `header:X-Priority`. */
export const HEADER_FIELD = 'header:';

/** Nesting deeper than this is not a rule an administrator can read; it is refused. */
export const MAX_CONDITION_DEPTH = 8;

/**
 * Ticket fields a rule may set, each to the id of an entry of one of the helpdesk's lists
 * (shared/helpdesk/helpdeskLists.ts): the assignee from its employees, the department from its departments.
 */
export const settableFields = [
  'statusId',
  'priorityId',
  'typeId',
  'categoryId',
  'environmentId',
  'assigneeId',
  'departmentId',
] as const;
export type SettableField = (typeof settableFields)[number];

/** A rule's actions, by the name in its `action`. */
export const ruleActionKinds = [
  'setField',
  'link',
  'createContact',
  'noAcknowledgement',
  'keepAside',
  'ignore',
  'moveTo',
  'delete',
] as const;
