import { z } from 'zod';
import type { SourceOperation } from '../graph/mailSource.js';
import { firstFieldProblem } from '../helpdesk/helpdeskLists.js';
import { ApiError } from '../http/errors.js';
import { emptyRuleOutcome } from '../rules/evaluateRules.js';
import { ruleIdentifier, settableFields } from '../rules/ruleSettings.js';
import type { ImportDependencies } from './dependencies.js';
import type { MailboxRunResult } from './importMailbox.js';
import { findMessage, moveBackToMailbox } from './keptAside.js';
import type { MailPlan, MailRecord, Resolution, RuleDecision } from './mailRecord.js';
import type { MailboxRef } from './ports.js';

const by = z.string().trim().min(1).max(200);

/** A person's decision on a kept-aside mail: discard it, add it to a ticket, or make a new ticket of it. */
export const resolveRequestSchema = z.discriminatedUnion(
  'action',
  [
    z.strictObject({ action: z.literal('discard'), note: z.string().trim().min(1).max(2000), by }),
    z.strictObject({
      action: z.literal('createTicket'),
      /** The same fields a rule's setField sets, overriding the helpdesk's defaults and the rules'. */
      fields: z.partialRecord(z.enum(settableFields), ruleIdentifier).default({}),
      note: z.string().trim().min(1).max(2000).optional(),
      by,
    }),
    z.strictObject({
      action: z.literal('linkToTicket'),
      ticketNumber: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
      note: z.string().trim().min(1).max(2000).optional(),
      by,
    }),
  ],
  { error: 'discard, linkToTicket or createTicket' },
);

export type ResolveRequest = z.infer<typeof resolveRequestSchema>;

export interface ResolveResult {
  key: string;
  action: Resolution['action'];
  by: string;
  ticketNumber: number | null;
  /** done, or (a linked mail whose mailbox was busy being imported) planned: that run finishes it. */
  state: 'done' | 'planned';
}

/**
 * R20: resolves a kept-aside mail by hand, through the same exactly-once steps as an import: the
 * decision is stored on the record with its plan first; then it is carried out (a discarded mail's source
 * post-processed; a linked mail imported by a run of its mailbox, which follows the stored plan); then the
 * record is settled. Called again after a crash in between, it finishes the stored decision (not the new
 * request's); once settled, another resolve is a 409. An unknown ticket is a 404 before anything is stored.
 */
export async function resolveMessage(
  deps: ImportDependencies,
  input: {
    helpdeskId: string;
    key: string;
    request: ResolveRequest;
    /** Runs the import of one mailbox now (the HTTP layer's, with its telemetry and deadline). */
    importMailbox: (ref: MailboxRef) => Promise<MailboxRunResult>;
  },
): Promise<ResolveResult> {
  const { helpdesk, mailbox, found } = await findMessage(deps, input.helpdeskId, input.key);
  let current = found;
  const stored = current.record.resolution;
  if (stored && current.record.state !== 'planned') {
    throw new ApiError(
      'conflict',
      `message ${input.key} was already resolved (${stored.action} by ${stored.by})`,
    );
  }
  if (!stored) {
    if (current.record.state !== 'keptAside') {
      throw new ApiError(
        'conflict',
        `message ${input.key} is not waiting for a person (it is ${current.record.state})`,
      );
    }
    const request = input.request;
    if (request.action === 'createTicket') {
      // Checked like a rule's setField when it is saved: against the helpdesk's lists, before anything is stored.
      const unlisted = firstFieldProblem(helpdesk, request.fields);
      if (unlisted) {
        const field = `body.fields.${unlisted.field}`;
        throw new ApiError('badRequest', `${field}: ${unlisted.problem}`, field);
      }
    }
    if (
      request.action === 'linkToTicket' &&
      !(await deps.tickets.getTicket(helpdesk.id, request.ticketNumber))
    ) {
      throw new ApiError(
        'notFound',
        `ticket ${request.ticketNumber} does not exist in helpdesk ${helpdesk.id}`,
      );
    }
    const now = deps.clock().toISOString();
    const resolution: Resolution = {
      action: request.action,
      note: request.note ?? null,
      by: request.by,
      at: now,
    };
    let plan: MailPlan;
    if (request.action === 'discard') {
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
      ...(current.record.rules ?? { ...emptyRuleOutcome(), operation: null }),
      keepAside: null,
    };
    if (request.action === 'createTicket') rules.setFields = { ...rules.setFields, ...request.fields };
    const planned: MailRecord = {
      ...current.record,
      state: 'planned',
      plan,
      rules,
      attempts: 0,
      resolution,
      updatedAt: now,
    };
    const saved = await deps.records.replace(planned, current.etag);
    if (!saved) throw new ApiError('conflict', `message ${input.key} changed meanwhile; try again`);
    current = { record: planned, etag: saved.etag };
  }
  await deps.checkpoint('planned');
  const resolution = current.record.resolution as Resolution;
  const plan = current.record.plan;

  if (plan && plan.action !== 'skip') {
    // The import carries out the stored plan (images, ticket or supplement, history naming the person, source mail),
    // exactly once; it finds the mail where a run looks for it.
    if (helpdesk.importer.keepAside.folder) await moveBackToMailbox(deps, mailbox, current.record);
    await input.importMailbox({ helpdeskId: helpdesk.id, mailboxId: mailbox.id });
    const after = await deps.records.get(current.record.mailboxKey, current.record.id);
    const done = after?.record.state === 'stored';
    if (!done && after?.record.state !== 'planned') {
      throw new Error(`message ${input.key} was not imported: ${after?.record.lastError ?? 'unknown error'}`);
    }
    return {
      key: input.key,
      action: resolution.action,
      by: resolution.by,
      ticketNumber: plan.ticketNumber,
      state: done ? 'done' : 'planned',
    };
  }

  // Discarded: the mailbox's post-processing, or the rule's, as for a handled mail.
  const processing = mailbox.postProcessing;
  const operation: SourceOperation =
    current.record.rules?.operation ??
    (processing.action === 'move'
      ? { kind: 'move', folderId: await deps.mailSource.ensureFolder(mailbox.userId, processing.folder) }
      : { kind: processing.action });
  const [result] = await deps.mailSource.applyOperations(mailbox.userId, [
    { messageId: current.record.graphMessageId, operation },
  ]);
  // Gone already (deleted or moved by an earlier, interrupted attempt or by someone): nothing left to do.
  if (!result?.ok && result?.error !== 'ErrorItemNotFound') {
    throw new Error(`message ${input.key} could not be post-processed: ${result?.error ?? 'unknown error'}`);
  }
  const settled = await deps.records.replace(
    { ...current.record, state: 'skipped', updatedAt: deps.clock().toISOString() },
    current.etag,
  );
  if (!settled) throw new ApiError('conflict', `message ${input.key} changed meanwhile; try again`);
  return { key: input.key, action: resolution.action, by: resolution.by, ticketNumber: null, state: 'done' };
}
