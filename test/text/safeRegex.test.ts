import { describe, expect, it } from 'vitest';
import { importerSettingsSchema } from '../../shared/helpdesk/settings.js';
import {
  MAX_PATTERN_LENGTH,
  patternProblem,
  SafeRegex,
  UnsafePatternError,
} from '../../shared/text/safeRegex.js';
import { findTicketNumbers } from '../../shared/tickets/ticketNumber.js';
import { cpuMs } from '../support/cpuTime.js';

/** Security review (issue 20, item 8): administrators' patterns run in linear time. */

const CATASTROPHIC = String.raw`#((?:\d+)+)x`;

describe('attack: a catastrophic subject pattern (#((?:\\d+)+)x) against a subject built to backtrack', () => {
  it('runs in linear time in the safe engine', () => {
    const pattern = SafeRegex.compile(CATASTROPHIC, { groups: 1 });
    const hostile = `#${'1'.repeat(100_000)}y`;
    expect(cpuMs(() => [...pattern.matchAll(hostile)])).toBeLessThan(1000);
    expect([...pattern.matchAll(hostile)]).toEqual([]);
    expect([...pattern.matchAll('see #123x')]).toEqual([{ index: 4, groups: ['123'] }]);
  });

  it('finding ticket numbers with it stays fast on the longest subject scanned', () => {
    const subject = `#${'1'.repeat(5_000)}y`;
    expect(cpuMs(() => findTicketNumbers(subject, { extraPatterns: [CATASTROPHIC] }))).toBeLessThan(1000);
    expect(findTicketNumbers('Case #77x', { extraPatterns: [CATASTROPHIC] })).toEqual([77]);
  });
});

describe('safe patterns', () => {
  it('match case-insensitively, with groups numbered as in the pattern', () => {
    const pattern = SafeRegex.compile(String.raw`(vorgang|case)\s+(\d+)`);
    expect([...pattern.matchAll('CASE 12, Vorgang 13')].map((m) => m.groups)).toEqual([
      ['CASE', '12'],
      ['Vorgang', '13'],
    ]);
    expect(SafeRegex.compile('abc', { ignoreCase: false }).test('ABC')).toBe(false);
    expect(SafeRegex.compile(String.raw`(?<number>\d+)`, { groups: 1 }).test('x1')).toBe(true);
  });

  it('refuses what the linear-time engine cannot run, too long a pattern and missing groups, saying why', () => {
    expect(patternProblem(String.raw`(?<=#)(\d+)`)).toMatch(/lookaround or backreferences/);
    expect(patternProblem(String.raw`(\d)\1`)).toMatch(/lookaround or backreferences/);
    expect(patternProblem('(')).toMatch(/linear-time engine/);
    expect(patternProblem(`(\\d)${'x'.repeat(MAX_PATTERN_LENGTH)}`)).toBe(
      `must be at most ${MAX_PATTERN_LENGTH} characters`,
    );
    expect(patternProblem(String.raw`\d+`, { groups: 1 })).toBe('must have a capture group');
    expect(patternProblem(CATASTROPHIC, { groups: 1 })).toBeNull();
    expect(() => SafeRegex.compile('(?=x)')).toThrow(UnsafePatternError);
  });

  it('a pattern saved before it was validated is skipped when matching, not fatal', () => {
    expect(findTicketNumbers('Ticket 5', { extraPatterns: [String.raw`(?<=x)(\d+)`] })).toEqual([5]);
  });
});

describe('subjectPatterns in the importer settings', () => {
  const base = {
    mailboxes: [{ id: 'main', userId: 'desk@example.test' }],
    defaultContactId: 'default-contact',
    defaultEmployee: { id: 'e', name: 'E' },
  };

  it('are validated when saved, naming the pattern that fails', () => {
    const result = importerSettingsSchema.safeParse({
      ...base,
      subjectPatterns: [String.raw`case (\d+)`, String.raw`(?<!\w)#(\d+)`],
    });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(['subjectPatterns', 1]);
    expect(result.error?.issues[0]?.message).toMatch(/linear-time engine/);
    expect(importerSettingsSchema.safeParse({ ...base, subjectPatterns: [CATASTROPHIC] }).success).toBe(true);
  });
});
