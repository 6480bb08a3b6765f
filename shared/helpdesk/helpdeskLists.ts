import type { SettableField } from '../rules/ruleGrammar.js';
import type { Helpdesk, ListEntry } from './settings.js';

/** Which of the helpdesk's lists a settable ticket field names an entry of, and what an entry is called. */
const LISTS: Record<
  SettableField,
  { noun: string; entries: (helpdesk: Helpdesk) => readonly ListEntry[] | undefined }
> = {
  statusId: { noun: 'status', entries: (helpdesk) => helpdesk.statuses },
  priorityId: { noun: 'priority', entries: (helpdesk) => helpdesk.priorities },
  typeId: { noun: 'type', entries: (helpdesk) => helpdesk.types },
  categoryId: { noun: 'category', entries: (helpdesk) => helpdesk.categories },
  environmentId: { noun: 'environment', entries: (helpdesk) => helpdesk.environments },
  assigneeId: { noun: 'employee', entries: (helpdesk) => helpdesk.employees },
  departmentId: { noun: 'department', entries: (helpdesk) => helpdesk.departments },
};

/**
 * The entry of the helpdesk's list that a value of a ticket field names: undefined when the list has no
 * such entry, null when the helpdesk keeps no list for the field (then any id is taken as it is).
 */
export function listedEntry(
  helpdesk: Helpdesk,
  field: SettableField,
  id: string,
): ListEntry | null | undefined {
  const entries = LISTS[field].entries(helpdesk);
  return entries === undefined ? null : entries.find((entry) => entry.id === id);
}

/**
 * Why a value cannot be set on a ticket field of this helpdesk, or null when it can: for rules when they
 * are saved and for a person's createTicket, before anything is stored.
 */
export function fieldValueProblem(helpdesk: Helpdesk, field: SettableField, id: string): string | null {
  return listedEntry(helpdesk, field, id) === undefined
    ? `no such ${LISTS[field].noun} in this helpdesk`
    : null;
}

/** The first field of `fields` whose value the helpdesk's lists lack, with why; null when all are listed. */
export function firstFieldProblem(
  helpdesk: Helpdesk,
  fields: Partial<Record<SettableField, string>>,
): { field: SettableField; problem: string } | null {
  for (const [field, id] of Object.entries(fields) as Array<[SettableField, string]>) {
    const problem = fieldValueProblem(helpdesk, field, id);
    if (problem !== null) return { field, problem };
  }
  return null;
}
