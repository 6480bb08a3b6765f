import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { conditionHolds, evaluateRules, type RuleFacts } from '../../shared/rules/evaluateRules.js';
import { linksFromSubject } from '../../shared/rules/linkCriteria.js';
import {
  conditionSchema,
  linkCriteriaSchema,
  patternProblems,
  ruleSchema,
  rulesSchema,
} from '../../shared/rules/ruleSettings.js';
import { cpuTimed } from '../support/cpuTime.js';
import { repoRoot } from '../support/fixtures.js';

function facts(overrides: Partial<RuleFacts> = {}): RuleFacts {
  return {
    from: 'anna@leverancier.example',
    fromName: 'Anna de Vries',
    to: ['support@helpdesk.example', 'sales@helpdesk.example'],
    cc: ['boss@customer.example'],
    replyTo: [],
    subject: 'Factuur 2026-001 voor maart',
    body: 'Zie bijlage.',
    fullText: 'Zie bijlage.\n\n> eerder bericht over Contract',
    headers: { 'list-unsubscribe': ['<mailto:unsub@list.example>'], 'x-priority': ['1 (Highest)'] },
    attachmentNames: ['factuur-2026-001.pdf'],
    classification: 'normal',
    senderKnown: true,
    ticketNumbers: [],
    mailbox: ['support', 'support@helpdesk.example'],
    ...overrides,
  };
}

function holds(condition: unknown, over: Partial<RuleFacts> = {}): boolean {
  return conditionHolds(conditionSchema.parse(condition), facts(over));
}

describe('every operator and field', () => {
  const cases: Array<[string, unknown, boolean, Partial<RuleFacts>?]> = [
    ['from contains (case-insensitive)', { field: 'from', op: 'contains', value: 'LEVERANCIER' }, true],
    [
      'from contains, caseSensitive',
      { field: 'from', op: 'contains', value: 'LEVERANCIER', caseSensitive: true },
      false,
    ],
    ['from endsWith', { field: 'from', op: 'endsWith', value: '@leverancier.example' }, true],
    ['from startsWith', { field: 'from', op: 'startsWith', value: 'bob' }, false],
    ['from equals', { field: 'from', op: 'equals', value: 'Anna@Leverancier.example' }, true],
    ['from notEquals', { field: 'from', op: 'notEquals', value: 'anna@leverancier.example' }, false],
    ['from notExists without sender', { field: 'from', op: 'notExists' }, true, { from: null }],
    ['fromName startsWith', { field: 'fromName', op: 'startsWith', value: 'anna' }, true],
    ['fromName exists', { field: 'fromName', op: 'exists' }, false, { fromName: '' }],
    ['to: any address matches', { field: 'to', op: 'equals', value: 'sales@helpdesk.example' }, true],
    ['to: notContains when no address has it', { field: 'to', op: 'notContains', value: 'sales@' }, false],
    ['to: notContains holds', { field: 'to', op: 'notContains', value: 'billing@' }, true],
    ['cc endsWith', { field: 'cc', op: 'endsWith', value: '@customer.example' }, true],
    ['cc notExists on empty list', { field: 'cc', op: 'notExists' }, true, { cc: [] }],
    ['replyTo exists on empty list', { field: 'replyTo', op: 'exists' }, false],
    [
      'replyTo equals',
      { field: 'replyTo', op: 'equals', value: 'x@y.example' },
      true,
      { replyTo: ['x@y.example'] },
    ],
    ['subject contains', { field: 'subject', op: 'contains', value: 'factuur' }, true],
    ['subject notContains', { field: 'subject', op: 'notContains', value: 'factuur' }, false],
    ['subject matches', { field: 'subject', op: 'matches', value: String.raw`\d{4}-\d{3}` }, true],
    [
      'subject matches, caseSensitive',
      { field: 'subject', op: 'matches', value: '^factuur', caseSensitive: true },
      false,
    ],
    ['subject matches, case-insensitive', { field: 'subject', op: 'matches', value: '^factuur' }, true],
    ['body is the reply text only', { field: 'body', op: 'contains', value: 'contract' }, false],
    ['fullText includes the quote', { field: 'fullText', op: 'contains', value: 'contract' }, true],
    ['header exists (name in any case)', { field: 'header:List-Unsubscribe', op: 'exists' }, true],
    ['header notExists', { field: 'header:Auto-Submitted', op: 'notExists' }, true],
    ['header startsWith', { field: 'header:X-Priority', op: 'startsWith', value: '1' }, true],
    ['attachmentName endsWith', { field: 'attachmentName', op: 'endsWith', value: '.PDF' }, true],
    ['attachmentName notExists', { field: 'attachmentName', op: 'notExists' }, false],
    [
      'classification equals',
      { field: 'classification', op: 'equals', value: 'bulk' },
      true,
      { classification: 'bulk' },
    ],
    ['classification notEquals', { field: 'classification', op: 'notEquals', value: 'normal' }, false],
    ['senderKnown exists', { field: 'senderKnown', op: 'exists' }, true],
    [
      'senderKnown notExists for a stranger',
      { field: 'senderKnown', op: 'notExists' },
      true,
      { senderKnown: false },
    ],
    ['ticketNumber exists', { field: 'ticketNumber', op: 'exists' }, true, { ticketNumbers: [42] }],
    ['ticketNumber notExists', { field: 'ticketNumber', op: 'notExists' }, true],
    [
      'ticketNumber equals',
      { field: 'ticketNumber', op: 'equals', value: '42' },
      true,
      { ticketNumbers: [7, 42] },
    ],
    ['mailbox equals its id', { field: 'mailbox', op: 'equals', value: 'support' }, true],
    [
      'mailbox equals its address',
      { field: 'mailbox', op: 'equals', value: 'SUPPORT@helpdesk.example' },
      true,
    ],
  ];
  it.each(cases)('%s', (_name, condition, expected, over) => {
    expect(holds(condition, over)).toBe(expected);
  });
});

describe('nesting', () => {
  const subject = { field: 'subject', op: 'contains', value: 'factuur' };
  const fromSupplier = { field: 'from', op: 'endsWith', value: '@leverancier.example' };
  const list = { field: 'header:List-Unsubscribe', op: 'exists' };
  it.each([
    ['all of true, true', { all: [subject, fromSupplier] }, true],
    ['all with a false', { all: [subject, list, { not: list }] }, false],
    ['any with one true', { any: [{ not: subject }, fromSupplier] }, true],
    ['any all false', { any: [{ not: subject }, { not: fromSupplier }] }, false],
    ['not of all', { not: { all: [subject, { not: list }] } }, true],
    [
      'deep',
      { all: [{ any: [{ not: { not: subject } }, list] }, { not: { any: [{ not: fromSupplier }] } }] },
      true,
    ],
  ])('%s', (_name, condition, expected) => {
    expect(holds(condition)).toBe(expected);
  });
});

describe('regex safety', () => {
  it('a catastrophic pattern over a 1 MB body finishes well under a second', () => {
    const condition = conditionSchema.parse({ field: 'body', op: 'matches', value: '(a+)+$' });
    const body = `${'a'.repeat(1_000_000)}!`;
    const { result, ms } = cpuTimed(() => conditionHolds(condition, facts({ body })));
    expect(result).toBe(false);
    expect(ms).toBeLessThan(1000);
  });

  it('refuses lookaround, backreferences and over-long patterns, naming the path', () => {
    for (const value of ['(?=x)a', '(a)\\1', 'a'.repeat(201)]) {
      const condition = conditionSchema.parse({
        any: [
          { field: 'subject', op: 'contains', value: 'x' },
          { not: { field: 'subject', op: 'matches', value } },
        ],
      });
      const [problem, ...more] = patternProblems(condition);
      expect(more).toEqual([]);
      expect(problem?.path).toEqual(['any', 1, 'not', 'value']);
      expect(problem?.problem).toMatch(/^invalid regular expression/);
    }
    expect(patternProblems(conditionSchema.parse({ field: 'body', op: 'matches', value: '(a+)+$' }))).toEqual(
      [],
    );
  });
});

describe('validation', () => {
  it.each([
    [{ field: 'subjekt', op: 'contains', value: 'x' }, ['field']],
    [{ field: 'subject', op: 'resembles', value: 'x' }, ['op']],
    [{ field: 'subject', op: 'contains' }, ['value']],
    [{ field: 'subject', op: 'exists', value: 'x' }, ['value']],
    [{ field: 'subject', op: 'contains', value: 'x', extra: 1 }, []],
    [{ all: [{ field: 'subject', op: 'contains', value: 'x' }], any: [] }, []],
    [{ not: { all: [{ field: 'from', op: 'nope', value: 'x' }] } }, ['not', 'all', 0, 'op']],
  ])('%j is refused at %j', (condition, path) => {
    const result = conditionSchema.safeParse(condition);
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(path);
  });

  it('refuses nesting deeper than 8', () => {
    let condition: unknown = { field: 'subject', op: 'exists' };
    for (let i = 0; i < 9; i++) condition = { not: condition };
    expect(conditionSchema.safeParse(condition).success).toBe(false);
  });
});

const billing = ruleSchema.parse({
  id: 'billing',
  name: 'Supplier invoices',
  enabled: true,
  when: {
    all: [
      { field: 'subject', op: 'contains', value: 'factuur' },
      { field: 'from', op: 'endsWith', value: '@leverancier.example' },
      { not: { field: 'header:List-Unsubscribe', op: 'exists' } },
    ],
  },
  // biome-ignore lint/suspicious/noThenProperty: the settings format names the actions "then".
  then: [
    { action: 'setField', field: 'priorityId', value: 'high' },
    { action: 'link', entity: 'relation', number: '000123' },
    { action: 'noAcknowledgement' },
  ],
  stop: true,
});

function withActions(actions: unknown[]) {
  return Object.fromEntries(Object.entries(billing).map(([k, v]) => [k, k === 'then' ? actions : v]));
}

function rule(id: string, then: unknown[], extra: Record<string, unknown> = {}) {
  return ruleSchema.parse({ id, name: id, when: { field: 'subject', op: 'exists' }, then, ...extra });
}

describe('evaluateRules', () => {
  it('the format of the issue: applies the actions of a matching rule', () => {
    const { outcome, trace } = evaluateRules([billing], facts({ headers: {} }));
    expect(outcome).toEqual({
      matched: ['billing'],
      setFields: { priorityId: 'high' },
      links: [{ entity: 'relation', number: '000123', parts: ['000123'], source: 'rule:billing' }],
      createContact: false,
      noAcknowledgement: true,
      keepAside: null,
      ignore: null,
      postProcessing: null,
      skipped: [],
    });
    expect(trace).toEqual([{ id: 'billing', matched: true, actions: billing.then }]);
  });

  it('a rule that does not match changes nothing; a disabled one is not evaluated', () => {
    const disabled = rule('off', [{ action: 'ignore' }], { enabled: false });
    const { outcome, trace } = evaluateRules([billing, disabled], facts());
    expect(outcome.matched).toEqual([]);
    expect(outcome.ignore).toBeNull();
    expect(trace).toEqual([{ id: 'billing', matched: false, actions: [] }]);
  });

  it('applies rules in order, later setField wins, and stop ends evaluation', () => {
    const rules = [
      rule('a', [{ action: 'setField', field: 'categoryId', value: 'one' }, { action: 'createContact' }]),
      rule(
        'b',
        [
          { action: 'setField', field: 'categoryId', value: 'two' },
          { action: 'moveTo', folder: 'Done' },
        ],
        { stop: true },
      ),
      rule('c', [{ action: 'ignore' }]),
    ];
    const { outcome, trace } = evaluateRules(rules, facts());
    expect(outcome.matched).toEqual(['a', 'b']);
    expect(outcome.setFields).toEqual({ categoryId: 'two' });
    expect(outcome.createContact).toBe(true);
    expect(outcome.postProcessing).toEqual({ action: 'move', folder: 'Done' });
    expect(outcome.ignore).toBeNull();
    expect(trace.map((t) => t.id)).toEqual(['a', 'b']);
  });

  it('ignore, keepAside and delete name their rule', () => {
    const { outcome } = evaluateRules(
      [rule('x', [{ action: 'keepAside' }]), rule('y', [{ action: 'ignore' }, { action: 'delete' }])],
      facts(),
    );
    expect(outcome).toMatchObject({ keepAside: 'x', ignore: 'y', postProcessing: { action: 'delete' } });
  });

  it('a stored rule whose pattern no longer compiles is skipped, named with why; the others still apply', () => {
    // Saved when an older engine accepted it; read back, the settings schema takes it as it is.
    const broken = {
      ...rule('legacy', [{ action: 'ignore' }]),
      when: conditionSchema.parse({ field: 'subject', op: 'matches', value: '(?=factuur)f' }),
    };
    const { outcome, trace } = evaluateRules(
      [broken, rule('after', [{ action: 'setField', field: 'priorityId', value: 'high' }])],
      facts(),
    );
    expect(outcome).toMatchObject({ matched: ['after'], ignore: null, setFields: { priorityId: 'high' } });
    expect(outcome.skipped).toEqual([
      { id: 'legacy', reason: expect.stringMatching(/^invalid regular expression: /) },
    ]);
    expect(trace[0]).toMatchObject({ id: 'legacy', matched: false, error: expect.any(String) });
  });

  it('refuses unknown action keys and fields', () => {
    expect(
      ruleSchema.safeParse(withActions([{ action: 'ignore', reason: 'x' }])).error?.issues[0]?.path,
    ).toEqual(['then', 0]);
    expect(
      ruleSchema.safeParse(withActions([{ action: 'setField', field: 'colour', value: 'x' }])).error
        ?.issues[0]?.path,
    ).toEqual(['then', 0, 'field']);
  });
});

describe('link criteria from the subject', () => {
  const criteria = [
    { keyword: 'relnr', entity: 'relation' },
    { keyword: 'project', entity: 'project' },
  ];

  it.each([
    ['12-3-1', ['12', '3', '1']],
    ['12/3/1', ['12', '3', '1']],
    ['12,3,1', ['12', '3', '1']],
  ])('project %s splits into project, subproject, phase', (number, parts) => {
    expect(linksFromSubject(`Vraag over relnr 000123 en project ${number}`, criteria)).toEqual([
      { entity: 'relation', number: '000123', parts: ['000123'], source: 'subject' },
      { entity: 'project', number, parts, source: 'subject' },
    ]);
  });

  it('keyword in any case, with ":" or "#", trailing punctuation dropped', () => {
    expect(linksFromSubject('RE: RELNR:42, Project #7/1.', criteria)).toEqual([
      { entity: 'relation', number: '42', parts: ['42'], source: 'subject' },
      { entity: 'project', number: '7/1', parts: ['7', '1'], source: 'subject' },
    ]);
  });

  it('a malformed number is an unresolved link; a word without digits or inside another word is none', () => {
    expect(linksFromSubject('project 12--3 and project planning, subproject 4, relnr', criteria)).toEqual([
      { entity: 'project', number: '12--3', parts: [], source: 'subject', unresolved: true },
    ]);
  });

  it('a stored numberPattern the engine no longer takes keeps what it finds unresolved, for a person', () => {
    const stored = linkCriteriaSchema.parse([
      { keyword: 'order', entity: 'order', numberPattern: '(?=S)\\w+' },
    ]);
    expect(linksFromSubject('order SO-12345', stored)).toEqual([
      { entity: 'order', number: 'SO-12345', parts: [], source: 'subject', unresolved: true },
    ]);
  });

  it('a numberPattern replaces the default', () => {
    const custom = [{ keyword: 'order', entity: 'order', numberPattern: 'SO-\\d{5}' }];
    expect(linksFromSubject('order SO-12345 and order 123', custom)).toEqual([
      { entity: 'order', number: 'SO-12345', parts: ['SO', '12345'], source: 'subject' },
      { entity: 'order', number: '123', parts: [], source: 'subject', unresolved: true },
    ]);
  });
});

describe('the README examples', () => {
  const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('### Rules per mailbox and link criteria (R19)'));
  const blocks = [...section.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => JSON.parse(`{${m[1]}}`));

  it('are valid settings and do what the text says', () => {
    const rules = rulesSchema.parse(blocks[0].rules);
    expect(rules.map((r) => r.id)).toEqual(['billing', 'newsletters', 'new-customers']);
    const invoice = evaluateRules(rules, facts({ headers: {} })).outcome;
    expect(invoice).toMatchObject({
      matched: ['billing'],
      setFields: { categoryId: 'billing', priorityId: 'high' },
      noAcknowledgement: true,
    });
    const digest = facts({ classification: 'bulk', headers: {}, subject: 'Weekly digest' });
    expect(evaluateRules(rules, digest).outcome).toMatchObject({
      matched: ['newsletters'],
      ignore: 'newsletters',
      postProcessing: { action: 'move', folder: 'Newsletters' },
    });
    const stranger = facts({
      from: 'x@new.example',
      senderKnown: false,
      body: 'Over het Contract',
      headers: {},
    });
    expect(evaluateRules(rules, stranger).outcome).toMatchObject({
      matched: ['new-customers'],
      createContact: true,
      keepAside: 'new-customers',
    });
    const criteria = linkCriteriaSchema.parse(blocks[1].linkCriteria);
    expect(linksFromSubject('Vraag over relnr 000123 en project 12-3-1', criteria)).toHaveLength(2);
  });
});
