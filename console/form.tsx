import { type ComponentChildren, createContext } from 'preact';
import { useContext, useState } from 'preact/hooks';

/**
 * Form fields bound to a path in one JSON document (the importer settings), written as the API names
 * its fields in a 400 (`mailboxes.0.rules.1.when`), so the server's error is shown at the field it names.
 */

type Container = Record<string, unknown> | unknown[];

export function getAt(root: unknown, path: string): unknown {
  let value = root;
  for (const part of path.split('.')) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

/** Sets a value (undefined removes the key), creating objects on the way. */
export function setAt(root: Container, path: string, value: unknown): void {
  const parts = path.split('.');
  const last = parts.pop() as string;
  let node = root as Record<string, unknown>;
  for (const part of parts) {
    const next = node[part];
    if (next === null || typeof next !== 'object') node[part] = {};
    node = node[part] as Record<string, unknown>;
  }
  if (value === undefined) delete node[last];
  else node[last] = value;
}

export interface FieldProblem {
  /** The API's field, e.g. body.keepAside.maxAttempts. */
  field: string;
  message: string;
}

interface FormState {
  document: Container;
  change(path: string, value: unknown): void;
  problem: FieldProblem | null;
}

export const FormContext = createContext<FormState | null>(null);

export function useForm(): FormState {
  const form = useContext(FormContext);
  if (!form) throw new Error('a field outside its form');
  return form;
}

/** The server's message when it names this field (or, with `within`, anything inside it). */
function useProblem(path: string, within = false): string | null {
  const { problem } = useForm();
  if (!problem) return null;
  const field = `body.${path}`;
  const hit = problem.field === field || (within && problem.field.startsWith(`${field}.`));
  return hit ? problem.message.replace(/^[^:]*: /, '') : null;
}

export function FieldError({ path, within = false }: { path: string; within?: boolean }) {
  const message = useProblem(path, within);
  if (!message) return null;
  return (
    <span class="field-error" role="alert" data-field={path}>
      {message}
    </span>
  );
}

/** The id of a field's control, for its label. */
export function fieldId(path: string): string {
  return `field-${path.replaceAll('.', '-')}`;
}

export function Field({
  path,
  label,
  children,
  within = false,
}: {
  path: string;
  label: string;
  children: ComponentChildren;
  within?: boolean;
}) {
  const invalid = useProblem(path, within) !== null;
  return (
    <div class={invalid ? 'field invalid' : 'field'}>
      <label class="label" htmlFor={fieldId(path)}>
        {label}
      </label>
      {children}
      <FieldError path={path} within={within} />
    </div>
  );
}

export function TextField({
  path,
  label,
  optional = false,
  multiline = false,
}: {
  path: string;
  label: string;
  optional?: boolean;
  multiline?: boolean;
}) {
  const form = useForm();
  const value = getAt(form.document, path);
  const onInput = (event: { currentTarget: HTMLInputElement | HTMLTextAreaElement }) => {
    const text = event.currentTarget.value;
    form.change(path, optional && text === '' ? undefined : text);
  };
  const text = typeof value === 'string' ? value : '';
  return (
    <Field path={path} label={label}>
      {multiline ? (
        <textarea id={fieldId(path)} name={path} value={text} onInput={onInput} rows={5} />
      ) : (
        <input id={fieldId(path)} name={path} value={text} onInput={onInput} />
      )}
    </Field>
  );
}

export function NumberField({ path, label }: { path: string; label: string }) {
  const form = useForm();
  const value = getAt(form.document, path);
  return (
    <Field path={path} label={label}>
      <input
        id={fieldId(path)}
        name={path}
        type="number"
        value={typeof value === 'number' ? String(value) : ''}
        onInput={(event) => {
          const text = event.currentTarget.value;
          form.change(path, text === '' ? undefined : Number(text));
        }}
      />
    </Field>
  );
}

export function CheckField({ path, label }: { path: string; label: string }) {
  const form = useForm();
  return (
    <label class="check">
      <input
        name={path}
        type="checkbox"
        checked={getAt(form.document, path) === true}
        onChange={(event) => form.change(path, event.currentTarget.checked)}
      />{' '}
      {label}
      <FieldError path={path} />
    </label>
  );
}

export function SelectField({
  path,
  label,
  options,
  onSelect,
}: {
  path: string;
  label: string;
  options: readonly string[];
  /** Instead of setting the value: for a choice that reshapes its object (an action and its fields). */
  onSelect?: (value: string) => void;
}) {
  const form = useForm();
  const value = getAt(form.document, path);
  return (
    <Field path={path} label={label}>
      <select
        id={fieldId(path)}
        name={path}
        value={typeof value === 'string' ? value : ''}
        onChange={(event) => (onSelect ?? ((v: string) => form.change(path, v)))(event.currentTarget.value)}
      >
        {options.map((option) => (
          <option key={option} value={option}>
            {option}
          </option>
        ))}
      </select>
    </Field>
  );
}

/** The value at a path of the form's document. */
export function useValue(path: string): unknown {
  return getAt(useForm().document, path);
}

/**
 * The kind of an action (`path.action`): choosing another replaces the whole object with `make(kind)`,
 * so no field of the kind before is left behind for the strict schema to refuse.
 */
export function ActionKindField({
  path,
  label,
  options,
  make,
}: {
  path: string;
  label: string;
  options: readonly string[];
  make: (kind: string) => unknown;
}) {
  const form = useForm();
  return (
    <SelectField
      path={`${path}.action`}
      label={label}
      options={options}
      onSelect={(kind) => form.change(path, make(kind))}
    />
  );
}

/** A list of strings, one a line. */
export function LinesField({ path, label }: { path: string; label: string }) {
  const form = useForm();
  const value = getAt(form.document, path);
  const lines = Array.isArray(value) ? value.map(String) : [];
  return (
    <Field path={path} label={label} within>
      <textarea
        id={fieldId(path)}
        name={path}
        rows={Math.max(2, lines.length + 1)}
        value={lines.join('\n')}
        onInput={(event) =>
          form.change(
            path,
            event.currentTarget.value.split('\n').filter((line) => line.trim() !== ''),
          )
        }
      />
    </Field>
  );
}

/** An ordered list of objects: add, remove and move items; `render` draws the item at `path.index`. */
export function ListEditor({
  path,
  itemName,
  newItem,
  render,
}: {
  path: string;
  itemName: string;
  /** The item to add, given how many there are. */
  newItem: (count: number) => unknown;
  render: (itemPath: string, index: number) => ComponentChildren;
}) {
  const form = useForm();
  const value = getAt(form.document, path);
  const items = Array.isArray(value) ? value : [];
  // Items are keyed by position; after a move or removal every item is drawn afresh, so no editor keeps
  // the text of the item that was at its place before.
  const [generation, setGeneration] = useState(0);
  const replace = (next: unknown[]) => {
    form.change(path, next);
    setGeneration(generation + 1);
  };
  const move = (from: number, to: number) => {
    const next = [...items];
    const [item] = next.splice(from, 1);
    next.splice(to, 0, item);
    replace(next);
  };
  return (
    <div class="list" data-list={path}>
      <FieldError path={path} />
      {items.map((_, index) => (
        <fieldset key={`${generation}-${index}`} class="item">
          <legend>
            {itemName} {index + 1}
          </legend>
          {render(`${path}.${index}`, index)}
          <div class="item-actions">
            <button type="button" disabled={index === 0} onClick={() => move(index, index - 1)}>
              Up
            </button>
            <button
              type="button"
              disabled={index === items.length - 1}
              onClick={() => move(index, index + 1)}
            >
              Down
            </button>
            <button type="button" onClick={() => replace(items.filter((__, i) => i !== index))}>
              Remove {itemName.toLowerCase()}
            </button>
          </div>
        </fieldset>
      ))}
      <button type="button" onClick={() => form.change(path, [...items, newItem(items.length)])}>
        Add {itemName.toLowerCase()}
      </button>
    </div>
  );
}
