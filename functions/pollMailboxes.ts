import type { InvocationContext, Timer } from '@azure/functions';
import { appServices, invocationLog } from '../shared/app/services.js';
import type { TimerFunction } from '../shared/host/functionDefinition.js';
import { pollMailboxes } from '../shared/import/pollMailboxes.js';

export async function pollMailboxesHandler(timer: Timer, context: InvocationContext): Promise<void> {
  const services = appServices();
  const { helpdesks } = services.dependencies(invocationLog(context));
  const safetyNet = services.notifications
    ? {
        store: services.notifications.store,
        intervalMs: services.env.SAFETY_NET_POLL_MINUTES * 60_000,
        secret: services.notifications.secret,
      }
    : undefined;
  const jobs = await pollMailboxes(helpdesks, services.jobQueue, 'timer', new Date(), safetyNet);
  context.log(`pollMailboxes: ${jobs} mailbox job(s) enqueued${timer.isPastDue ? ' (timer past due)' : ''}`);
}

export const pollMailboxesFunction: TimerFunction = {
  trigger: 'timer',
  name: 'pollMailboxes',
  schedule: '%IMPORT_SCHEDULE%',
  handler: pollMailboxesHandler,
};
