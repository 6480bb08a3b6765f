import type { ComponentChildren } from 'preact';
import {
  type ConditionOp,
  conditionOps,
  HEADER_FIELD,
  MAX_CONDITION_DEPTH,
  plainFields,
  valuelessOps,
} from '../shared/rules/ruleGrammar.js';
import { CheckField, Field, FieldError, fieldId, SelectField, TextField, useForm, useValue } from './form.js';

/**
 * A rule's conditions (`when`) as a builder: groups of all/any, leaves of field, op and value, each of them
 * negatable. Every control is bound to its own path in the document (`when.all.1.any.0.value`), so a 400
 * naming a path inside the conditions is shown at its control.
 */

type ConditionObject = Record<string, unknown>;
type GroupKind = 'all' | 'any';

export function newCondition(): ConditionObject {
  return { field: 'subject', op: 'contains', value: '' };
}

function isObject(value: unknown): value is ConditionObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function groupKind(node: unknown): GroupKind | undefined {
  return isObject(node) ? (['all', 'any'] as const).find((kind) => Array.isArray(node[kind])) : undefined;
}

export function ConditionEditor({ path }: { path: string }) {
  const form = useForm();
  const root = useValue(path);
  // A single condition becomes the first of an all-group when another is added beside it.
  const addBeside = (added: ConditionObject) => form.change(path, { all: [root, added] });
  return (
    <div class="conditions" data-conditions={path}>
      <ConditionNode path={path} depth={0} />
      {groupKind(root) === undefined && (
        <div class="item-actions">
          <button type="button" onClick={() => addBeside(newCondition())}>
            Add condition
          </button>
          <button type="button" onClick={() => addBeside({ any: [newCondition()] })}>
            Add group
          </button>
        </div>
      )}
    </div>
  );
}

/** One condition at `path`, `depth` groups and negations below the rule's `when`. */
function ConditionNode({ path, depth, remove }: { path: string; depth: number; remove?: () => void }) {
  const form = useForm();
  const node = useValue(path);
  const negated = isObject(node) && 'not' in node;
  const controls = (
    <>
      <label class="check">
        <input
          type="checkbox"
          class="negate"
          checked={negated}
          onChange={() => form.change(path, negated ? node.not : { not: node })}
        />{' '}
        not
      </label>
      {remove && (
        <button type="button" onClick={remove}>
          Remove
        </button>
      )}
    </>
  );
  const bodyPath = negated ? `${path}.not` : path;
  const body = useValue(bodyPath);
  const bodyDepth = negated ? depth + 1 : depth;
  const kind = groupKind(body);
  const doubleNegation = negated && isObject(body) && 'not' in body;
  return (
    <>
      <FieldError path={path} />
      {doubleNegation ? (
        // A negation of a negation: drawn as it is stored, one "not" each.
        <div class="condition-group">
          <div class="condition-head">{controls}</div>
          <ConditionNode path={bodyPath} depth={bodyDepth} />
        </div>
      ) : kind ? (
        <Group path={bodyPath} kind={kind} depth={bodyDepth} controls={controls} />
      ) : (
        <Leaf path={bodyPath} controls={controls} />
      )}
      {negated && !doubleNegation && <FieldError path={bodyPath} />}
    </>
  );
}

function Group({
  path,
  kind,
  depth,
  controls,
}: {
  path: string;
  kind: GroupKind;
  depth: number;
  controls: ComponentChildren;
}) {
  const form = useForm();
  const listPath = `${path}.${kind}`;
  const items = useValue(listPath) as unknown[];
  const setItems = (next: unknown[]) => form.change(listPath, next);
  return (
    <div class="condition-group" data-condition={path}>
      <div class="condition-head">
        <select
          name={`${path}:kind`}
          aria-label="Match"
          value={kind}
          onChange={(event) => form.change(path, { [event.currentTarget.value]: items })}
        >
          <option value="all">all of these</option>
          <option value="any">any of these</option>
        </select>
        {controls}
      </div>
      <FieldError path={listPath} />
      {items.map((_, index) => (
        <ConditionNode
          // Every control reads its value from the document, so a row keyed by position shows the right one.
          key={index}
          path={`${listPath}.${index}`}
          depth={depth + 1}
          remove={items.length > 1 ? () => setItems(items.filter((__, i) => i !== index)) : undefined}
        />
      ))}
      <div class="item-actions">
        <button type="button" onClick={() => setItems([...items, newCondition()])}>
          Add condition
        </button>
        <button
          type="button"
          disabled={depth + 1 >= MAX_CONDITION_DEPTH}
          onClick={() => setItems([...items, { any: [newCondition()] }])}
        >
          Add group
        </button>
      </div>
    </div>
  );
}

function Leaf({ path, controls }: { path: string; controls: ComponentChildren }) {
  const form = useForm();
  const node = useValue(path);
  const leaf = isObject(node) ? node : {};
  const field = typeof leaf.field === 'string' ? leaf.field : '';
  const header = field.startsWith(HEADER_FIELD);
  const valueless = valuelessOps.includes(leaf.op as ConditionOp);
  const fieldPath = `${path}.field`;
  // exists and notExists take no value: the schema refuses one, so it is dropped (and given back after).
  const chooseOp = (op: string) => {
    const { value, ...rest } = leaf;
    form.change(
      path,
      valuelessOps.includes(op as ConditionOp)
        ? { ...rest, op }
        : { ...rest, op, value: typeof value === 'string' ? value : '' },
    );
  };
  return (
    <div class="condition-leaf" data-condition={path}>
      <Field path={fieldPath} label="Field">
        <select
          id={fieldId(fieldPath)}
          name={fieldPath}
          value={header ? HEADER_FIELD : field}
          onChange={(event) => form.change(fieldPath, event.currentTarget.value)}
        >
          {plainFields.map((name) => (
            <option key={name} value={name}>
              {name}
            </option>
          ))}
          <option value={HEADER_FIELD}>header…</option>
        </select>
        {header && (
          <input
            class="header-name"
            aria-label="Header name"
            placeholder="Header name, e.g. X-Priority"
            value={field.slice(HEADER_FIELD.length)}
            onInput={(event) => form.change(fieldPath, HEADER_FIELD + event.currentTarget.value)}
          />
        )}
      </Field>
      <SelectField path={`${path}.op`} label="Op" options={conditionOps} onSelect={chooseOp} />
      {!valueless && (
        <>
          <TextField path={`${path}.value`} label="Value" />
          <CheckField path={`${path}.caseSensitive`} label="Case-sensitive" />
        </>
      )}
      {controls}
    </div>
  );
}
