import { badRequest, GraphErrorResponse } from './graphErrors.js';

export type PropertyValue = string | boolean | null;

/** A property a collection can be filtered and sorted on. */
export interface CollectionProperty<T> {
  type: 'boolean' | 'dateTime' | 'string';
  value(item: T): PropertyValue;
}

export interface CollectionShape<T> {
  /** Keyed by the canonical (Graph) property name. */
  properties: Record<string, CollectionProperty<T>>;
  /** Names `$select` accepts. */
  selectable: readonly string[];
  /** Order when `$orderby` is absent. */
  defaultOrder: ReadonlyArray<{ property: string; descending: boolean }>;
}

export interface CollectionQuery<T> {
  filter: ((item: T) => boolean) | undefined;
  order: Array<{ property: CollectionProperty<T>; descending: boolean }>;
  select: string[] | undefined;
  pageSize: number;
  skip: number;
  count: boolean;
}

export interface Preferences {
  immutableIds: boolean;
  maxPageSize: number | undefined;
  bodyContentType: 'text' | 'html' | undefined;
}

const SUPPORTED_OPTIONS = new Set(['$filter', '$select', '$top', '$skip', '$orderby', '$count']);
const DEFAULT_PAGE_SIZE = 10;
const MAX_PAGE_SIZE = 1000;
const DATE_TIME_LITERAL = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

export function parsePreferences(header: string | undefined): Preferences {
  const preferences: Preferences = {
    immutableIds: false,
    maxPageSize: undefined,
    bodyContentType: undefined,
  };
  for (const part of (header ?? '').split(',')) {
    const [key = '', value = ''] = part.split('=').map((piece) => piece.trim().replace(/^"|"$/g, ''));
    const name = key.toLowerCase();
    if (name === 'idtype') preferences.immutableIds = value.toLowerCase() === 'immutableid';
    if (name === 'odata.maxpagesize' && /^\d+$/.test(value)) {
      preferences.maxPageSize = Math.min(Math.max(Number(value), 1), MAX_PAGE_SIZE);
    }
    if (name === 'outlook.body-content-type' && /^(text|html)$/i.test(value)) {
      preferences.bodyContentType = value.toLowerCase() === 'text' ? 'text' : 'html';
    }
  }
  return preferences;
}

function propertyNamed<T>(
  shape: CollectionShape<T>,
  name: string,
): [string, CollectionProperty<T>] | undefined {
  return Object.entries(shape.properties).find(
    ([canonical]) => canonical.toLowerCase() === name.toLowerCase(),
  );
}

function parseLiteral(text: string): PropertyValue | Date {
  if (/^'(?:[^']|'')*'$/.test(text)) return text.slice(1, -1).replace(/''/g, "'");
  if (text === 'true' || text === 'false') return text === 'true';
  if (text === 'null') return null;
  if (DATE_TIME_LITERAL.test(text)) return new Date(text);
  throw badRequest(`Invalid filter clause: the literal ${text} is not supported.`);
}

function compare(left: PropertyValue, operator: string, right: PropertyValue | Date, type: string): boolean {
  if (operator === 'eq' || operator === 'ne') {
    const equal =
      type === 'string' && typeof left === 'string' && typeof right === 'string'
        ? left.toLowerCase() === right.toLowerCase()
        : right instanceof Date
          ? left !== null && Date.parse(String(left)) === right.getTime()
          : left === right;
    return operator === 'eq' ? equal : !equal;
  }
  if (left === null || right === null) return false;
  const a = type === 'dateTime' ? Date.parse(String(left)) : String(left);
  const b = right instanceof Date ? right.getTime() : String(right);
  if (operator === 'gt') return a > b;
  if (operator === 'ge') return a >= b;
  if (operator === 'lt') return a < b;
  return a <= b;
}

/** `and`-joined comparisons; returns the predicate and the properties in the order they appear. */
function parseFilter<T>(
  expression: string,
  shape: CollectionShape<T>,
): { predicate: (item: T) => boolean; properties: string[] } {
  const tokens = expression.match(/'(?:[^']|'')*'|\s+and\s+|[^'\s]+|\s+/gi) ?? [];
  const clauses: string[] = [''];
  for (const token of tokens) {
    if (/^\s+and\s+$/i.test(token)) clauses.push('');
    else clauses[clauses.length - 1] += token;
  }
  const tests: Array<(item: T) => boolean> = [];
  const properties: string[] = [];
  for (const clause of clauses) {
    const match = /^([A-Za-z][\w/]*)\s+(eq|ne|gt|ge|lt|le)\s+(.+)$/i.exec(clause.trim());
    const named = match?.[1] ? propertyNamed(shape, match[1]) : undefined;
    if (!match || !named) throw badRequest(`Invalid filter clause: '${clause.trim()}' is not supported.`);
    const [canonical, property] = named;
    const operator = (match[2] ?? '').toLowerCase();
    const literal = parseLiteral((match[3] ?? '').trim());
    const fits =
      literal === null ||
      (property.type === 'boolean' && typeof literal === 'boolean') ||
      (property.type === 'dateTime' && literal instanceof Date) ||
      (property.type === 'string' && typeof literal === 'string');
    if (!fits) throw badRequest(`Invalid filter clause: the literal does not fit ${canonical}.`);
    tests.push((item) => compare(property.value(item), operator, literal, property.type));
    if (!properties.includes(canonical)) properties.push(canonical);
  }
  return { predicate: (item) => tests.every((test) => test(item)), properties };
}

function parseOrderBy<T>(expression: string, shape: CollectionShape<T>): Array<[string, boolean]> {
  return expression.split(',').map((part) => {
    const [name = '', direction = 'asc', ...rest] = part.trim().split(/\s+/);
    const named = propertyNamed(shape, name);
    if (!named || rest.length > 0 || !/^(asc|desc)$/i.test(direction)) {
      throw badRequest(`Invalid $orderby: '${part.trim()}'.`);
    }
    return [named[0], direction.toLowerCase() === 'desc'];
  });
}

function integerOption(query: URLSearchParams, name: string, min: number, max: number): number | undefined {
  const text = query.get(name);
  if (text === null) return undefined;
  const value = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!(value >= min && value <= max)) {
    throw badRequest(`The value of '${name}' must be an integer between ${min} and ${max}.`);
  }
  return value;
}

/** `$select` names in canonical spelling; undefined when absent. */
export function parseSelect<T>(query: URLSearchParams, shape: CollectionShape<T>): string[] | undefined {
  return query
    .get('$select')
    ?.split(',')
    .map((name) => {
      const canonical = shape.selectable.find(
        (candidate) => candidate.toLowerCase() === name.trim().toLowerCase(),
      );
      if (!canonical) throw badRequest(`Could not find a property named '${name.trim()}' on this type.`);
      return canonical;
    });
}

export function readCollectionQuery<T>(
  query: URLSearchParams,
  preferences: Preferences,
  shape: CollectionShape<T>,
): CollectionQuery<T> {
  for (const name of query.keys()) {
    if (name.startsWith('$') && !SUPPORTED_OPTIONS.has(name)) {
      throw badRequest(`Query option '${name}' is not supported.`);
    }
  }
  const filterText = query.get('$filter');
  const filter = filterText ? parseFilter(filterText, shape) : undefined;
  const orderText = query.get('$orderby');
  const orderBy = orderText ? parseOrderBy(orderText, shape) : undefined;
  if (filter && orderBy) {
    // Exchange only sorts on what it filters on, in the same order and first.
    const efficient = orderBy.every(([property], index) => filter.properties[index] === property);
    if (!efficient) {
      throw new GraphErrorResponse(
        400,
        'InefficientFilter',
        'The restriction or sort order is too complex for this operation.',
      );
    }
  }
  const select = parseSelect(query, shape);
  const count = query.get('$count');
  if (count !== null && count !== 'true' && count !== 'false')
    throw badRequest("Invalid value for '$count'.");
  const order = (
    orderBy ?? shape.defaultOrder.map(({ property, descending }) => [property, descending] as const)
  ).map(([name, descending]) => {
    const property = shape.properties[name];
    if (!property) throw new Error(`No property ${name} to order by`);
    return { property, descending };
  });
  return {
    filter: filter?.predicate,
    order,
    select,
    pageSize: integerOption(query, '$top', 1, MAX_PAGE_SIZE) ?? preferences.maxPageSize ?? DEFAULT_PAGE_SIZE,
    skip: integerOption(query, '$skip', 0, Number.MAX_SAFE_INTEGER) ?? 0,
    count: count === 'true',
  };
}

function compareValues(a: PropertyValue, b: PropertyValue): number {
  if (a === b) return 0;
  if (a === null) return -1;
  if (b === null) return 1;
  return a < b ? -1 : 1;
}

/** Filters, sorts and cuts one page; `nextSkip` is set when more items follow. */
export function pageOf<T>(
  items: readonly T[],
  query: CollectionQuery<T>,
): { page: T[]; total: number; nextSkip: number | undefined } {
  const matching = query.filter ? items.filter(query.filter) : [...items];
  const sorted = matching
    .map((item, position) => ({ item, position }))
    .sort((left, right) => {
      for (const { property, descending } of query.order) {
        const difference = compareValues(property.value(left.item), property.value(right.item));
        if (difference !== 0) return descending ? -difference : difference;
      }
      // Same values: storage order, newest first when the sort is descending.
      return query.order[0]?.descending ? right.position - left.position : left.position - right.position;
    })
    .map(({ item }) => item);
  const end = query.skip + query.pageSize;
  return {
    page: sorted.slice(query.skip, end),
    total: sorted.length,
    nextSkip: end < sorted.length ? end : undefined,
  };
}

/** The full URL of the next page: the original query, untouched, plus `$skip`. */
export function nextLink(baseUrl: string, rawPath: string, rawQuery: string, nextSkip: number): string {
  const kept = rawQuery
    .split('&')
    .filter((part) => part !== '' && decodeURIComponent(part.split('=')[0] ?? '') !== '$skip');
  return `${baseUrl}${rawPath}?${[...kept, `$skip=${nextSkip}`].join('&')}`;
}
