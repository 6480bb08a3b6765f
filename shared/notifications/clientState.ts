import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { MailboxRef } from '../import/ports.js';

/**
 * The clientState of a mailbox's subscription: an HMAC of the mailbox under the deployment's secret
 * (Key Vault in Azure), so each subscription has its own value, nothing secret is stored, and a
 * notification is checked without a lookup. Graph sends it back with every notification.
 */
export function clientStateFor(secret: string, ref: MailboxRef): string {
  return createHmac('sha256', secret).update(`${ref.helpdeskId}/${ref.mailboxId}`).digest('base64url');
}

/** What is stored of a clientState: enough to notice that the secret changed, nothing to forge one with. */
export function clientStateHash(clientState: string): string {
  return createHash('sha256').update(clientState).digest('base64url');
}

export function clientStateMatches(
  secret: string,
  ref: MailboxRef,
  given: string | null | undefined,
): boolean {
  const expected = Buffer.from(clientStateFor(secret, ref));
  const actual = Buffer.from(given ?? '');
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/**
 * The URL Graph posts a mailbox's notifications to: the function's URL naming the mailbox, so one
 * request is about one mailbox and its clientState can be checked against it.
 */
export function notificationUrlFor(baseUrl: string, ref: MailboxRef): string {
  const url = new URL(baseUrl);
  url.searchParams.set('helpdeskId', ref.helpdeskId);
  url.searchParams.set('mailboxId', ref.mailboxId);
  return url.toString();
}
