import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ProcessingBudget, ProcessingTimeExceeded } from '../../shared/mail/processingBudget.js';

describe('ProcessingBudget', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000_000 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('passes until the mail has used its whole budget, then counts against the mail', () => {
    const budget = new ProcessingBudget(5_000, {
      at: 1_000_000 + 60_000,
      stop: () => new Error('run stopped'),
    });
    vi.setSystemTime(1_000_000 + 4_999);
    expect(() => budget.check()).not.toThrow();
    vi.setSystemTime(1_000_000 + 5_000);
    expect(() => budget.check()).toThrow(ProcessingTimeExceeded);
  });

  it('attack: a run out of time must not keep retrying the mail — when the run ends first, the run stops, not the mail', () => {
    const stopped = new Error('time budget used up');
    const stop = vi.fn(() => stopped);
    const budget = new ProcessingBudget(5_000, { at: 1_000_000 + 1_000, stop });
    vi.setSystemTime(1_000_000 + 1_000);
    expect(() => budget.check()).toThrow(stopped);
    expect(stop).toHaveBeenCalledOnce();
  });
});
