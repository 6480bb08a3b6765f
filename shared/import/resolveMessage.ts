import { z } from 'zod';
import type { MailSummary, SourceOperation } from '../graph/mailSource.js';
import { firstFieldProblem } from '../helpdesk/helpdeskLists.js';
import type { Helpdesk, MailboxSettings } from '../helpdesk/settings.js';
import { ApiError } from '../http/errors.js';
import { emptyRuleOutcome } from '../rules/evaluateRules.js';
import { settableFields } from '../rules/ruleGrammar.js';
import { ruleIdentifier } from '../rules/ruleSettings.js';
import { supplementId, ticketKey } from '../tickets/model.js';
import { historyEntry } from '../tickets/ticketFields.js';
import type { ImportDependencies } from './dependencies.js';
import type { MailboxRunResult } from './importMailbox.js';
import { findMessage, moveBackToMailbox, rescanFrom } from './keptAside.js';
import type { MailPlan, MailRecord, Resolution, RuleDecision } from './mailRecord.js';
import type { MailboxRef } from './ports.js';

const by = z.string().trim().min(1).max(200);
const note = z.string().trim().min(1).max(2000);

/**
 * A person's decision on a mail that waits for one: discard it, add it to a ticket, make a new ticket of it,
 * or (flagged mail, R18) approve it where it is.
 */
export const resolveRequestSchema = z.discriminatedUnion(
  'action',
  [
    z.strictObject({ action: z.literal('discard'), note, by }),
    z.strictObject({
      action: z.literal('createTicket'),
      /** The same fields a rule's setField sets, overriding the helpdesk's defaults and the rules'. */
      fields: z.partialRecord(z.enum(settableFields), ruleIdentifier).default({}),
      note: note.optional(),
      by,
    }),
    z.strictObject({
      action: z.literal('linkToTicket'),
      ticketNumber: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
      note: note.optional(),
      by,
    }),
    z.strictObject({ action: z.literal('approve'), note: note.optional(), by }),
  ],
  { error: 'discard, linkToTicket, createTicket or approve' },
);

export type ResolveRequest = z.infer<typeof resolveRequestSchema>;

export interface ResolveResult {
  key: string;
  action: Resolution['action'];
  by: string;
  ticketNumber: number | null;
  /**
   * done, or planned: the mail's mailbox was being imported at that moment; the decision is stored and the
   * next resolve of this mail (or a run of the mailbox that lists it) finishes it.
   */
  state: 'done' | 'planned';
}

type Current = { record: MailRecord; etag: string };

interface Resolving {
  deps: ImportDependencies;
  helpdesk: Helpdesk;
  mailbox: MailboxSettings;
  key: string;
}

/**
 * R20: resolves kept-aside or flagged mail by hand, through the same exactly-once steps as an import: the
 * decision is stored on the record with its plan first; then it is carried out (a flagged supplement
 * approved or taken out of its ticket; a discarded mail's source post-processed; a linked or new-ticket
 * mail imported, that mail alone, following the stored plan); then the record is settled. Called again
 * after a crash in between, it finishes the stored decision (not the new request's); once settled, another
 * resolve is a 409. An unknown ticket or a field value the helpdesk's lists lack is refused before anything
 * is stored.
 */
export async function resolveMessage(
  deps: ImportDependencies,
  input: {
    helpdeskId: string;
    key: string;
    request: ResolveRequest;
    /** Runs the import of one mailbox now, for these messages only (the HTTP layer's, with its telemetry). */
    importMailbox: (ref: MailboxRef, only: MailSummary[]) => Promise<MailboxRunResult>;
  },
): Promise<ResolveResult> {
  const { helpdesk, mailbox, found } = await findMessage(deps, input.helpdeskId, input.key);
  const resolving: Resolving = { deps, helpdesk, mailbox, key: input.key };
  let current: Current = found;
  const stored = current.record.resolution;
  const unfinished = current.record.state === 'planned' || current.record.state === 'flagged';
  if (stored && !unfinished) {
    throw new ApiError(
      'conflict',
      `message ${input.key} was already resolved (${stored.action} by ${stored.by})`,
    );
  }
  if (!stored) current = await decide(resolving, current, input.request);
  await deps.checkpoint('planned');
  const resolution = current.record.resolution as Resolution;
  const result = (ticketNumber: number | null, state: ResolveResult['state'] = 'done'): ResolveResult => ({
    key: input.key,
    action: resolution.action,
    by: resolution.by,
    ticketNumber,
    state,
  });

  if (current.record.state === 'flagged') current = await reviewFlagged(resolving, current, resolution);
  const plan = current.record.plan as MailPlan;
  if (resolution.action === 'approve') return result(plan.action === 'skip' ? null : plan.ticketNumber);
  if (plan.action === 'skip') {
    if (current.record.state !== 'skipped') await discard(resolving, current);
    return result(null);
  }
  // The import carries out the stored plan (images, ticket or supplement, history naming the person, source
  // mail), exactly once; a kept-aside mail goes back where a run of its mailbox would look for it first.
  if (current.record.keptAside && helpdesk.importer.keepAside.folder) {
    await moveBackToMailbox(deps, mailbox, current.record);
  }
  const record = current.record;
  const run = await input.importMailbox({ helpdeskId: helpdesk.id, mailboxId: mailbox.id }, [
    {
      id: record.graphMessageId,
      internetMessageId: record.internetMessageId,
      receivedDateTime: record.receivedDateTime,
      isRead: false,
      categories: [],
    },
  ]);
  const after = await deps.records.get(record.mailboxKey, record.id);
  if (after?.record.state === 'stored') return result(plan.ticketNumber);
  if (after?.record.state !== 'planned') {
    throw new Error(`message ${input.key} was not imported: ${after?.record.lastError ?? 'unknown error'}`);
  }
  // Not run (the mailbox busy with another run, the importer switched off) or stopped early: the decision
  // stands. A "since last scan" mailbox lists only recent mail: its scan moves back so a run sees this one.
  deps.log.info(`message ${input.key}: resolve planned, the run of its mailbox was ${run.status}`);
  if (mailbox.scan === 'sinceLastScan') await rescanFrom(deps, helpdesk.id, mailbox.id, record);
  return result(plan.ticketNumber, 'planned');
}

/** Checks the request against the mail and the helpdesk, then stores the decision with its plan. */
async function decide(resolving: Resolving, current: Current, request: ResolveRequest): Promise<Current> {
  const { deps, helpdesk, key } = resolving;
  const { record } = current;
  const flagged = record.state === 'flagged' && record.plan?.action === 'supplement' ? record.plan : null;
  if (record.state !== 'keptAside' && !flagged) {
    throw new ApiError('conflict', `message ${key} is not waiting for a person (it is ${record.state})`);
  }
  if (request.action === 'approve' && !flagged) {
    throw new ApiError('conflict', `message ${key} is kept aside, not flagged: there is nothing to approve`);
  }
  if (request.action === 'createTicket') {
    // Checked like a rule's setField when it is saved: against the helpdesk's lists, before anything is stored.
    const unlisted = firstFieldProblem(helpdesk, request.fields);
    if (unlisted) {
      const field = `body.fields.${unlisted.field}`;
      throw new ApiError('badRequest', `${field}: ${unlisted.problem}`, field);
    }
  }
  if (request.action === 'linkToTicket') {
    if (request.ticketNumber === flagged?.ticketNumber) {
      throw new ApiError(
        'conflict',
        `message ${key} is in ticket ${request.ticketNumber} already; approve it`,
      );
    }
    if (!(await deps.tickets.getTicket(helpdesk.id, request.ticketNumber))) {
      throw new ApiError(
        'notFound',
        `ticket ${request.ticketNumber} does not exist in helpdesk ${helpdesk.id}`,
      );
    }
  }
  const now = deps.clock().toISOString();
  const resolution: Resolution = {
    action: request.action,
    note: request.note ?? null,
    by: request.by,
    at: now,
    ...(flagged && request.action !== 'approve' ? { takenOutOf: flagged.ticketNumber } : {}),
  };
  let plan: MailPlan;
  if (request.action === 'approve' && flagged) {
    plan = flagged;
  } else if (request.action === 'discard') {
    plan = { action: 'skip', reason: `discarded by ${request.by}: ${request.note}` };
  } else if (request.action === 'linkToTicket') {
    plan = {
      action: 'supplement',
      ticketNumber: request.ticketNumber,
      via: 'person',
      flagged: null,
      automatic: null,
    };
  } else {
    // Allocated before the plan is stored, as an import does: a retry uses this number, never another.
    plan = { action: 'createTicket', ticketNumber: await deps.helpdesks.allocateTicketNumber(helpdesk.id) };
  }
  // A mail kept aside by a rule is not kept aside again when its plan is carried out.
  const rules: RuleDecision = {
    ...(record.rules ?? { ...emptyRuleOutcome(), operation: null }),
    keepAside: null,
  };
  if (request.action === 'createTicket') rules.setFields = { ...rules.setFields, ...request.fields };
  const decided: MailRecord = {
    ...record,
    // Flagged mail stays flagged until its supplement is dealt with: until then no run of its mailbox
    // carries out the new plan and leaves the old supplement where it is.
    state: flagged ? 'flagged' : 'planned',
    plan,
    rules,
    attempts: 0,
    resolution,
    updatedAt: now,
  };
  return replaceRecord(resolving, decided, current.etag);
}

/**
 * Flagged mail (R18) whose decision is stored: approved, its supplement is made visible to the customer and
 * unflagged and its sender joins the ticket's participants; otherwise the supplement is taken out of the
 * ticket. Either is written in the ticket's history naming the person. Every step may be done twice.
 */
async function reviewFlagged(
  resolving: Resolving,
  current: Current,
  resolution: Resolution,
): Promise<Current> {
  const { deps, helpdesk, key } = resolving;
  const { record } = current;
  const ticketNumber =
    resolution.takenOutOf ?? (record.plan?.action === 'supplement' ? record.plan.ticketNumber : null);
  if (ticketNumber === null) throw new Error(`message ${key} is flagged without a ticket`);
  const now = deps.clock().toISOString();
  const sender = record.from ?? 'an unknown sender';
  const noteText = resolution.note ? ` Note: ${resolution.note}` : '';
  let text: string;
  if (resolution.action === 'approve') {
    const found = await deps.tickets.reviseSupplement(helpdesk.id, ticketNumber, supplementId(key), {
      flagged: null,
      visibleToCustomer: true,
      lastModifiedAt: now,
      lastModifiedBy: helpdesk.importer.defaultEmployee,
    });
    if (!found) throw new Error(`the supplement of message ${key} is no longer in ticket ${ticketNumber}`);
    if (record.from) await deps.tickets.addParticipant(helpdesk.id, ticketNumber, record.from);
    text = `Mail from ${sender} approved by ${resolution.by}: visible to the customer, the sender a participant.`;
  } else {
    await deps.tickets.removeSupplement(helpdesk.id, ticketNumber, supplementId(key));
    const plan = record.plan;
    const where =
      plan?.action === 'createTicket'
        ? `made new ticket ${plan.ticketNumber}`
        : plan?.action === 'supplement'
          ? `moved to ticket ${plan.ticketNumber}`
          : 'discarded';
    text = `Mail from ${sender} taken out of this ticket by ${resolution.by}: ${where}.`;
  }
  await deps.tickets.putHistory(
    historyEntry({
      ticket: {
        ticketKey: ticketKey(helpdesk.id, ticketNumber),
        helpdeskId: helpdesk.id,
        number: ticketNumber,
      },
      event: 'mailResolvedByPerson',
      at: now,
      by: helpdesk.importer.defaultEmployee,
      text: `${text}${noteText}`,
      messageKey: key,
    }),
  );
  const plan = record.plan as MailPlan;
  const next: MailRecord =
    resolution.action === 'approve' && plan.action === 'supplement'
      ? { ...record, state: 'stored', plan: { ...plan, flagged: null, internal: false } }
      : // Discarded: nothing left to do at the source (it was handled when imported).
        { ...record, state: plan.action === 'skip' ? 'skipped' : 'planned' };
  return replaceRecord(resolving, { ...next, updatedAt: now }, current.etag);
}

/** Kept-aside mail discarded: its source post-processed as a handled mail (untagged), then the record settled. */
async function discard(resolving: Resolving, current: Current): Promise<void> {
  const { deps, helpdesk, mailbox, key } = resolving;
  const processing = mailbox.postProcessing;
  const operation: Exclude<SourceOperation, { kind: 'keepAside' }> =
    current.record.rules?.operation ??
    (processing.action === 'move'
      ? { kind: 'move', folderId: await deps.mailSource.ensureFolder(mailbox.userId, processing.folder) }
      : { kind: processing.action });
  const [result] = await deps.mailSource.applyOperations(mailbox.userId, [
    {
      messageId: current.record.graphMessageId,
      operation: { ...operation, untag: helpdesk.importer.keepAside.category },
    },
  ]);
  // Gone already (deleted or moved by an earlier, interrupted attempt or by someone): nothing left to do.
  if (!result?.ok && result?.error !== 'ErrorItemNotFound') {
    throw new Error(`message ${key} could not be post-processed: ${result?.error ?? 'unknown error'}`);
  }
  await replaceRecord(
    resolving,
    { ...current.record, state: 'skipped', updatedAt: deps.clock().toISOString() },
    current.etag,
  );
}

async function replaceRecord(resolving: Resolving, record: MailRecord, etag: string): Promise<Current> {
  const saved = await resolving.deps.records.replace(record, etag);
  if (!saved) throw new ApiError('conflict', `message ${resolving.key} changed meanwhile; try again`);
  return { record, etag: saved.etag };
}
