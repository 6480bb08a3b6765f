import { z } from 'zod';
import type { SourceOperation } from '../graph/mailSource.js';
import { ApiError } from '../http/errors.js';
import type { ImportDependencies } from './dependencies.js';
import { findMessage } from './keptAside.js';
import type { MailRecord } from './mailRecord.js';

/** A person's decision on a kept-aside mail. Only discarding is offered so far. */
export const resolveRequestSchema = z.strictObject({
  action: z.literal('discard', { error: 'discard (the only action offered)' }),
  note: z.string().trim().min(1).max(2000),
  by: z.string().trim().min(1).max(200),
});

export type ResolveRequest = z.infer<typeof resolveRequestSchema>;

/**
 * R20: resolves a kept-aside mail by hand, through the same exactly-once steps as an import: the
 * decision is stored on the record with its plan first; then the source mail is post-processed; then
 * the record is settled. Called again after a crash in between, it finishes the stored decision (not
 * the new request's); once settled, another resolve is a 409.
 */
export async function resolveMessage(
  deps: ImportDependencies,
  input: { helpdeskId: string; key: string; request: ResolveRequest },
): Promise<{ key: string; action: 'discard'; by: string; ticketNumber: null }> {
  const { mailbox, found } = await findMessage(deps, input.helpdeskId, input.key);
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
    const now = deps.clock().toISOString();
    const { action, note, by } = input.request;
    const planned: MailRecord = {
      ...current.record,
      state: 'planned',
      plan: { action: 'skip', reason: `discarded by ${by}: ${note}` },
      resolution: { action, note, by, at: now },
      updatedAt: now,
    };
    const saved = await deps.records.replace(planned, current.etag);
    if (!saved) throw new ApiError('conflict', `message ${input.key} changed meanwhile; try again`);
    current = { record: planned, etag: saved.etag };
  }
  await deps.checkpoint('planned');

  // The mailbox's post-processing, or the rule's: a discarded mail leaves the mailbox as a handled one.
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
  const resolution = current.record.resolution as NonNullable<MailRecord['resolution']>;
  return { key: input.key, action: resolution.action, by: resolution.by, ticketNumber: null };
}
