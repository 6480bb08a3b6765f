import type { InvocationContext, Timer } from '@azure/functions';
import { appServices, invocationLog } from '../shared/app/services.js';
import type { TimerFunction } from '../shared/host/functionDefinition.js';
import { maintainSubscriptions } from '../shared/notifications/subscriptions.js';

export async function maintainSubscriptionsHandler(_timer: Timer, context: InvocationContext): Promise<void> {
  const services = appServices();
  if (!services.notifications) {
    context.log('maintainSubscriptions: NOTIFICATION_URL is not set; no change notifications');
    return;
  }
  const deps = services.dependencies(invocationLog(context));
  const counts = await maintainSubscriptions({
    ...services.notifications,
    helpdesks: deps.helpdesks,
    mailboxAllowed: deps.mailboxAllowed,
    clock: deps.clock,
    log: deps.log,
  });
  context.log(
    `maintainSubscriptions: ${counts.created} created, ${counts.renewed} renewed, ${counts.unchanged} unchanged, ${counts.deleted} deleted, ${counts.failed} failed`,
  );
}

export const maintainSubscriptionsFunction: TimerFunction = {
  trigger: 'timer',
  name: 'maintainSubscriptions',
  // Every 30 minutes (and at 7 past, away from the import timer's ticks); renewals start 36 hours ahead.
  schedule: '0 7,37 * * * *',
  handler: maintainSubscriptionsHandler,
};
