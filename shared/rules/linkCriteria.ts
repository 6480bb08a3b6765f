import { SafeRegex, UnsafePatternError } from '../text/safeRegex.js';
import { linkFromNumber, type TicketLink } from './evaluateRules.js';
import { anchoredNumberPattern, type LinkCriterion } from './ruleSettings.js';

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&');
}

/** Punctuation that ends a sentence or a list rather than the number: "relnr 123, project 4". */
const TRAILING = /[.,;:!?)\]"']+$/;

/**
 * The criterion's own number pattern, undefined for the default, or null when a stored pattern is one the
 * engine no longer takes (validated when saved, but the engine or its limits may have changed since): then
 * every number it finds is kept unresolved for a person, rather than the mail failed.
 */
function numberPattern(criterion: LinkCriterion): SafeRegex | undefined | null {
  if (criterion.numberPattern === undefined) return undefined;
  try {
    return SafeRegex.compile(anchoredNumberPattern(criterion.numberPattern), { ignoreCase: true });
  } catch (error) {
    if (error instanceof UnsafePatternError) return null;
    throw error;
  }
}

/**
 * Links named in a subject by the helpdesk's link criteria (seed 001, "koppelcriteria"): the keyword as a
 * word, then the word after it (an optional `:` or `#` between). That word counts as a number attempt only
 * when it holds a digit ("project planning" links nothing); one that does not fit the number pattern
 * (`project 12--3`) is kept as an unresolved link for a person, not dropped.
 */
export function linksFromSubject(subject: string, criteria: readonly LinkCriterion[]): TicketLink[] {
  const links: TicketLink[] = [];
  for (const criterion of criteria) {
    // The keyword is escaped and the rest fixed, so this expression cannot backtrack badly.
    const finder = new RegExp(
      `(?<![\\p{L}\\p{N}])${escapeRegExp(criterion.keyword)}(?![\\p{L}\\p{N}])\\s*[:#]?\\s*(\\S*)`,
      'giu',
    );
    const pattern = numberPattern(criterion);
    for (const match of subject.matchAll(finder)) {
      const word = (match[1] ?? '').replace(TRAILING, '');
      if (!/\d/.test(word)) continue;
      const link: TicketLink =
        pattern === null
          ? { entity: criterion.entity, number: word, parts: [], source: 'subject', unresolved: true }
          : linkFromNumber(criterion.entity, word, 'subject', pattern);
      if (!links.some((l) => l.entity === link.entity && l.number === link.number)) links.push(link);
    }
  }
  return links;
}
