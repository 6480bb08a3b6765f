/** How long one mail may take to parse and process before it is kept aside (R14). */
export const DEFAULT_MESSAGE_BUDGET_MS = 60_000;

/** The mail used up all of its processing budget: its own fault, so it counts as an attempt. */
export class ProcessingTimeExceeded extends Error {
  override readonly name = 'ProcessingTimeExceeded';
  readonly limitMs: number;

  constructor(limitMs: number) {
    super(`Mail exceeds its processing budget of ${limitMs} ms`);
    this.limitMs = limitMs;
  }
}

/** The run the mail is processed in: when it must end, and how to stop it (returns the reason). */
export interface RunDeadline {
  at: number;
  stop: () => unknown;
}

/**
 * The time one mail may take. Parsing and content processing are largely synchronous CPU work that a
 * timer cannot interrupt, so the work calls `check()` at checkpoints (per chunk, per element, per line).
 * When the run's own deadline comes first, the mail did not get its whole budget: the run is stopped
 * instead and the mail is tried again by the next run, which starts with it. So a mail is never retried
 * forever because a run ran out of time, and never kept aside for another mail's slowness.
 */
export class ProcessingBudget {
  readonly limitMs: number;
  private readonly endsAt: number;
  private readonly run: RunDeadline | null;

  /** `usedMs`: what the mail already took before this budget (its parse, when read ahead of its turn). */
  constructor(limitMs = DEFAULT_MESSAGE_BUDGET_MS, run?: RunDeadline, usedMs = 0) {
    this.limitMs = limitMs;
    this.run = run ?? null;
    const own = Date.now() + limitMs - usedMs;
    this.endsAt = run ? Math.min(own, run.at) : own;
  }

  /** Throws once the time is up: ProcessingTimeExceeded, or the run's stop reason when the run ends first. */
  check(): void {
    if (Date.now() < this.endsAt) return;
    if (this.run && this.run.at === this.endsAt) throw this.run.stop();
    throw new ProcessingTimeExceeded(this.limitMs);
  }
}
