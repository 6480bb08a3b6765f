/**
 * The words of a rule's conditions (R19): plain constants without dependencies, so the settings schema
 * (ruleSettings.ts) and the admin console's condition builder use the one list.
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
