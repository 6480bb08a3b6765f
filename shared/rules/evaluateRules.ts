import { SafeRegex, UnsafePatternError } from '../text/safeRegex.js';
import type { SettableField } from './ruleGrammar.js';
import type { Condition, ConditionLeaf, Rule, RuleAction } from './ruleSettings.js';

/**
 * Rules per mailbox (R19), evaluated without I/O: the import gathers the facts about one mail, the rules
 * decide, and the outcome is stored in the mail's plan so a retry applies the same actions.
 */

/** What a rule can look at, gathered once per mail. */
export interface RuleFacts {
  from: string | null;
  fromName: string | null;
  to: string[];
  cc: string[];
  replyTo: string[];
  subject: string;
  /** The reply text: the new part of the mail. */
  body: string;
  fullText: string;
  /** Header names lower-cased, every occurrence. */
  headers: Record<string, string[]>;
  attachmentNames: string[];
  classification: string;
  senderKnown: boolean;
  ticketNumbers: number[];
  /** The mailbox's id and its address or Graph user id. */
  mailbox: string[];
}

/** A link of the ticket to an entity of another system (a relation, a project). */
export interface TicketLink {
  entity: string;
  /** The number as written; null when the keyword had none. */
  number: string | null;
  /** The number split at its separators (project, subproject, phase); empty when unresolved. */
  parts: string[];
  source: 'subject' | `rule:${string}`;
  /** The keyword was there but its number is malformed: kept for a person to resolve, not dropped. */
  unresolved?: true;
}

/** The rules' outcome for one mail; stored in the mail's plan. */
export interface RuleOutcome {
  /** Ids of the rules that matched, in order. */
  matched: string[];
  setFields: Partial<Record<SettableField, string>>;
  links: TicketLink[];
  createContact: boolean;
  noAcknowledgement: boolean;
  /** The id of the rule that keeps the mail aside, or null. */
  keepAside: string | null;
  /** The id of the rule that ignores the mail, or null. */
  ignore: string | null;
  /** Replaces the mailbox's post-processing. */
  postProcessing: { action: 'move'; folder: string } | { action: 'delete' } | null;
  /**
   * Rules left out because they could not be evaluated (a stored pattern the engine no longer compiles),
   * with why; the mail goes on with the others (absent on records from before).
   */
  skipped?: SkippedRule[];
}

export interface SkippedRule {
  id: string;
  reason: string;
}

export interface RuleTrace {
  id: string;
  matched: boolean;
  actions: RuleAction[];
  /** Why the rule was skipped, when it could not be evaluated. */
  error?: string;
}

function valuesOf(facts: RuleFacts, field: string): string[] {
  if (field.startsWith('header:')) return facts.headers[field.slice('header:'.length).toLowerCase()] ?? [];
  const single = (value: string | null) => (value === null || value === '' ? [] : [value]);
  switch (field) {
    case 'from':
      return single(facts.from);
    case 'fromName':
      return single(facts.fromName);
    case 'to':
      return facts.to;
    case 'cc':
      return facts.cc;
    case 'replyTo':
      return facts.replyTo;
    case 'subject':
      return [facts.subject];
    case 'body':
      return [facts.body];
    case 'fullText':
      return [facts.fullText];
    case 'attachmentName':
      return facts.attachmentNames;
    case 'classification':
      return [facts.classification];
    case 'senderKnown':
      return facts.senderKnown ? ['true'] : [];
    case 'ticketNumber':
      return facts.ticketNumbers.map(String);
    case 'mailbox':
      return facts.mailbox;
    default:
      throw new Error(`unknown rule field ${field}`);
  }
}

type Compiled = Map<string, SafeRegex>;

function regexFor(compiled: Compiled, source: string, caseSensitive: boolean): SafeRegex {
  const key = `${caseSensitive ? 's' : 'i'}:${source}`;
  let regex = compiled.get(key);
  if (!regex) {
    regex = SafeRegex.compile(source, { ignoreCase: !caseSensitive });
    compiled.set(key, regex);
  }
  return regex;
}

function leafHolds(leaf: ConditionLeaf, facts: RuleFacts, compiled: Compiled): boolean {
  const values = valuesOf(facts, leaf.field);
  if (leaf.op === 'exists') return values.length > 0;
  if (leaf.op === 'notExists') return values.length === 0;
  const wanted = leaf.value ?? '';
  if (leaf.op === 'matches') {
    const regex = regexFor(compiled, wanted, leaf.caseSensitive);
    return values.some((value) => regex.test(value));
  }
  const fold = (text: string) => (leaf.caseSensitive ? text : text.toLowerCase());
  const target = fold(wanted);
  const folded = values.map(fold);
  // Negated ops hold when no value (no address of a list) has the property, so "to notContains x"
  // means x is nowhere among the recipients.
  switch (leaf.op) {
    case 'contains':
      return folded.some((value) => value.includes(target));
    case 'notContains':
      return !folded.some((value) => value.includes(target));
    case 'equals':
      return folded.some((value) => value === target);
    case 'notEquals':
      return !folded.some((value) => value === target);
    case 'startsWith':
      return folded.some((value) => value.startsWith(target));
    case 'endsWith':
      return folded.some((value) => value.endsWith(target));
  }
}

export function conditionHolds(
  condition: Condition,
  facts: RuleFacts,
  compiled: Compiled = new Map(),
): boolean {
  if ('all' in condition) return condition.all.every((part) => conditionHolds(part, facts, compiled));
  if ('any' in condition) return condition.any.some((part) => conditionHolds(part, facts, compiled));
  if ('not' in condition) return !conditionHolds(condition.not, facts, compiled);
  return leafHolds(condition, facts, compiled);
}

export function emptyRuleOutcome(): RuleOutcome & { skipped: SkippedRule[] } {
  return {
    matched: [],
    setFields: {},
    links: [],
    createContact: false,
    noAcknowledgement: false,
    keepAside: null,
    ignore: null,
    postProcessing: null,
    skipped: [],
  };
}

/**
 * Runs the enabled rules in order; the actions of every matching rule apply in order (a later setField of
 * the same field wins), until a matching rule with `stop`.
 */
export function evaluateRules(
  rules: readonly Rule[],
  facts: RuleFacts,
): { outcome: RuleOutcome; trace: RuleTrace[] } {
  const outcome = emptyRuleOutcome();
  const trace: RuleTrace[] = [];
  const compiled: Compiled = new Map();
  for (const rule of rules) {
    if (!rule.enabled) continue;
    let matched: boolean;
    try {
      matched = conditionHolds(rule.when, facts, compiled);
    } catch (error) {
      // Validated when saved, but the engine or its limits may have changed since: that rule is left out,
      // not every mail of the mailbox failed until it is kept aside.
      if (!(error instanceof UnsafePatternError)) throw error;
      const reason = `invalid regular expression: ${error.message}`;
      outcome.skipped.push({ id: rule.id, reason });
      trace.push({ id: rule.id, matched: false, actions: [], error: reason });
      continue;
    }
    trace.push({ id: rule.id, matched, actions: matched ? rule.then : [] });
    if (!matched) continue;
    outcome.matched.push(rule.id);
    for (const action of rule.then) applyAction(outcome, rule.id, action);
    if (rule.stop) break;
  }
  return { outcome, trace };
}

function applyAction(outcome: RuleOutcome, ruleId: string, action: RuleAction): void {
  switch (action.action) {
    case 'setField':
      outcome.setFields[action.field] = action.value;
      return;
    case 'link': {
      const link = linkFromNumber(action.entity, action.number, `rule:${ruleId}`);
      if (!outcome.links.some((l) => l.entity === link.entity && l.number === link.number)) {
        outcome.links.push(link);
      }
      return;
    }
    case 'createContact':
      outcome.createContact = true;
      return;
    case 'noAcknowledgement':
      outcome.noAcknowledgement = true;
      return;
    case 'keepAside':
      outcome.keepAside ??= ruleId;
      return;
    case 'ignore':
      outcome.ignore ??= ruleId;
      return;
    case 'moveTo':
      outcome.postProcessing = { action: 'move', folder: action.folder };
      return;
    case 'delete':
      outcome.postProcessing = { action: 'delete' };
      return;
  }
}

/** Digits in groups separated by `-`, `/` or `,`: 000123, 12-3-1, 12/3/1, 12,3,1. */
const DEFAULT_NUMBER = /^\d+(?:[-/,]\d+)*$/;

export function linkFromNumber(
  entity: string,
  number: string,
  source: TicketLink['source'],
  pattern?: SafeRegex,
): TicketLink {
  const valid = pattern ? pattern.test(number) : DEFAULT_NUMBER.test(number);
  if (!valid) return { entity, number, parts: [], source, unresolved: true };
  return { entity, number, parts: number.split(/[-/,]/).filter((part) => part !== ''), source };
}
