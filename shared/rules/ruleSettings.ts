import { z } from 'zod';
import { patternProblem } from '../text/safeRegex.js';
import {
  conditionOps,
  HEADER_FIELD,
  MAX_CONDITION_DEPTH,
  plainFields,
  settableFields,
  valuelessOps,
} from './ruleGrammar.js';

/**
 * The settings format of rules per mailbox and link criteria (R19). Written by administrators and kept for
 * years, so every object is strict: a misspelt key is refused, naming it, never silently dropped.
 */

export const ruleIdentifier = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'letters, digits, ".", "_" and "-" (at most 64)');

/** A plain field, or `header:<Name>` for any header of the mail. */
const conditionField = z
  .string()
  .refine(
    (field) =>
      (plainFields as readonly string[]).includes(field) ||
      (field.startsWith(HEADER_FIELD) &&
        /^[\x21-\x39\x3b-\x7e]{1,76}$/.test(field.slice(HEADER_FIELD.length))),
    `must be one of ${plainFields.join(', ')}, or header:<Name>`,
  );

export const conditionLeafSchema = z
  .strictObject({
    field: conditionField,
    op: z.enum(conditionOps),
    value: z.string().max(1000).optional(),
    caseSensitive: z.boolean().default(false),
  })
  .superRefine((leaf, context) => {
    const needsValue = !valuelessOps.includes(leaf.op);
    if (needsValue && leaf.value === undefined) {
      context.addIssue({ code: 'custom', path: ['value'], message: `is required for ${leaf.op}` });
    }
    if (!needsValue && leaf.value !== undefined) {
      context.addIssue({ code: 'custom', path: ['value'], message: `is not used by ${leaf.op}` });
    }
  });
export type ConditionLeaf = z.infer<typeof conditionLeafSchema>;

export type Condition = ConditionLeaf | { all: Condition[] } | { any: Condition[] } | { not: Condition };

/**
 * Each `matches` pattern of a condition that the regular expression engine refuses: its path within the
 * condition and why. Checked when rules are saved (a 400 naming the path), not by the schema: settings
 * are read through the schema too, and a stored pattern that a newer engine or limit refuses must not
 * stop the whole helpdesk; evaluateRules skips that one rule instead.
 */
export function patternProblems(
  condition: Condition,
  path: Array<string | number> = [],
): Array<{ path: Array<string | number>; problem: string }> {
  if ('all' in condition)
    return condition.all.flatMap((part, i) => patternProblems(part, [...path, 'all', i]));
  if ('any' in condition)
    return condition.any.flatMap((part, i) => patternProblems(part, [...path, 'any', i]));
  if ('not' in condition) return patternProblems(condition.not, [...path, 'not']);
  if (condition.op !== 'matches' || condition.value === undefined) return [];
  const problem = patternProblem(condition.value, { ignoreCase: !condition.caseSensitive });
  return problem === null
    ? []
    : [{ path: [...path, 'value'], problem: `invalid regular expression: ${problem}` }];
}

/**
 * Picks the shape by its key (all, any, not, or a leaf) before validating, so a mistake is reported at its
 * own path (`when.any.1.value`) instead of as "matches none of four shapes" at `when`.
 */
function conditionAt(depth: number): z.ZodType<Condition> {
  const inner = z.lazy(() => conditionAt(depth + 1));
  const list = z.array(inner).min(1).max(50);
  const shapes = {
    all: z.strictObject({ all: list }) as z.ZodType<Condition>,
    any: z.strictObject({ any: list }) as z.ZodType<Condition>,
    not: z.strictObject({ not: inner }) as z.ZodType<Condition>,
    leaf: conditionLeafSchema as z.ZodType<Condition>,
  };
  return z.unknown().transform((value, context): Condition => {
    const keys = value !== null && typeof value === 'object' ? Object.keys(value) : [];
    const shape = (['all', 'any', 'not'] as const).find((key) => keys.includes(key)) ?? 'leaf';
    if (shape !== 'leaf' && depth >= MAX_CONDITION_DEPTH) {
      context.addIssue({ code: 'custom', message: `conditions nest at most ${MAX_CONDITION_DEPTH} deep` });
      return z.NEVER;
    }
    const result = shapes[shape].safeParse(value);
    if (result.success) return result.data;
    // Passed on whole (an unknown key keeps its code and names the key), at its path below this one.
    for (const issue of result.error.issues) context.addIssue({ ...issue });
    return z.NEVER;
  });
}
export const conditionSchema = conditionAt(0);

const linkEntity = ruleIdentifier;

export const ruleActionSchema = z.discriminatedUnion('action', [
  z.strictObject({ action: z.literal('setField'), field: z.enum(settableFields), value: ruleIdentifier }),
  z.strictObject({
    action: z.literal('link'),
    entity: linkEntity,
    number: z.string().min(1).max(100),
  }),
  z.strictObject({ action: z.literal('createContact') }),
  z.strictObject({ action: z.literal('noAcknowledgement') }),
  z.strictObject({ action: z.literal('keepAside') }),
  z.strictObject({ action: z.literal('ignore') }),
  z.strictObject({ action: z.literal('moveTo'), folder: z.string().min(1).max(255) }),
  z.strictObject({ action: z.literal('delete') }),
]);
export type RuleAction = z.infer<typeof ruleActionSchema>;

export const ruleSchema = z.strictObject({
  id: ruleIdentifier,
  name: z.string().min(1).max(200),
  enabled: z.boolean().default(true),
  when: conditionSchema,
  // biome-ignore lint/suspicious/noThenProperty: the settings format names the actions "then"; an array, never thenable.
  then: z.array(ruleActionSchema).min(1).max(20),
  stop: z.boolean().default(false),
});
export type Rule = z.infer<typeof ruleSchema>;

export const rulesSchema = z
  .array(ruleSchema)
  .max(100)
  .refine((rules) => new Set(rules.map((rule) => rule.id)).size === rules.length, 'rule ids must be unique')
  .default([]);

export const linkCriterionSchema = z.strictObject({
  /** The word in the subject before the number, e.g. relnr. */
  keyword: z.string().regex(/^[\p{L}\p{N}][\p{L}\p{N}_.-]{0,39}$/u, 'a word of at most 40 letters or digits'),
  entity: linkEntity,
  /**
   * Replaces the default digits-with-separators; must match the whole number. Checked when saved
   * (numberPatternProblem), like the rules' patterns.
   */
  numberPattern: z.string().max(1000).optional(),
});
export type LinkCriterion = z.infer<typeof linkCriterionSchema>;

/** A criterion's number pattern as it is run: anchored at both ends. */
export function anchoredNumberPattern(source: string): string {
  return `^(?:${source})$`;
}

/** Why the engine refuses a criterion's number pattern, or null: checked when the settings are saved. */
export function numberPatternProblem(criterion: LinkCriterion): string | null {
  if (criterion.numberPattern === undefined) return null;
  const problem = patternProblem(anchoredNumberPattern(criterion.numberPattern));
  return problem === null ? null : `invalid regular expression: ${problem}`;
}

export const linkCriteriaSchema = z.array(linkCriterionSchema).max(20).default([]);
