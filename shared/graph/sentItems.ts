/**
 * Graph answers sendMail with 202, "accepted, not delivered", and saves the copy to Sent Items after that
 * (GRAPH-MAIL-REFERENCE §4): a look into Sent Items right after a send that may have gone through (a 503
 * or timeout after Graph took the mail, a process that died mid-send) can miss it, and the mail would go
 * out twice. Microsoft documents no figure for the delay; two minutes is a margin, not a measured value,
 * and SENT_ITEMS_DELAY_SECONDS can raise it.
 */
export const SENT_ITEMS_DELAY_MS = 2 * 60_000;

/**
 * How long to wait before Sent Items can tell whether the send started at `startedAt` went out; 0 when
 * it can now (or the start is unknown: stored before it was recorded).
 */
export function sentItemsWait(startedAt: string | null | undefined, now: Date, delayMs: number): number {
  if (!startedAt) return 0;
  return Math.max(0, Date.parse(startedAt) + delayMs - now.getTime());
}
