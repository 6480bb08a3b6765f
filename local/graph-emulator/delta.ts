import { randomBytes } from 'node:crypto';
import { badRequest, GraphErrorResponse } from './graphErrors.js';
import type { MailFolder, RemovedMessage, StoredMessage } from './mailbox.js';
import { type Preferences, parseSelect } from './odataQuery.js';
import { messageCollection } from './resources.js';

/** What a delta round was asked for; Graph encodes it into its tokens, so later pages need no query. */
interface RoundQuery {
  select: string[] | undefined;
  /** receivedDateTime must be at or after (ge) or after (gt) this instant. */
  received: { after: number; inclusive: boolean } | undefined;
  pageSize: number;
}

type DeltaEntry = { kind: 'changed'; message: StoredMessage } | { kind: 'removed'; entry: RemovedMessage };

type TokenState =
  | { kind: 'deltaToken'; userId: string; folderId: string; mark: number; query: RoundQuery }
  | {
      kind: 'skipToken';
      userId: string;
      folderId: string;
      mark: number;
      query: RoundQuery;
      remaining: DeltaEntry[];
    };

export type DeltaPage =
  | { entries: DeltaEntry[]; query: RoundQuery; next: { skipToken: string } }
  | { entries: DeltaEntry[]; query: RoundQuery; next: { deltaToken: string } };

const DEFAULT_DELTA_PAGE_SIZE = 10;
const MAX_DELTA_PAGE_SIZE = 1000;
const RECEIVED_FILTER = /^receivedDateTime\s+(ge|gt)\s+(\S+)$/i;

export const syncStateNotFound = (): GraphErrorResponse =>
  new GraphErrorResponse(
    410,
    'SyncStateNotFound',
    'The sync state generation is not found; generation=0;[highest=0].',
  );

/**
 * Delta and skip tokens of every mailbox. Outlook keeps sync states in a cache they drop out of; here a
 * bounded map (oldest dropped first) and `expireAll` for tests stand in for that.
 */
export class DeltaTokens {
  private readonly states = new Map<string, TokenState>();

  /** Graph may give smaller pages than odata.maxpagesize asks for; this caps them (tests of paging). */
  pageSizeLimit = MAX_DELTA_PAGE_SIZE;

  constructor(public cacheSize = 10_000) {}

  expireAll(): void {
    this.states.clear();
  }

  /**
   * One page of a delta round: a first request (no token) starts a round over the whole folder, a
   * `$deltatoken` one over what changed since that token's round, a `$skiptoken` one continues a round.
   */
  page(
    userId: string,
    folder: MailFolder,
    query: URLSearchParams,
    preferences: Preferences,
    changes: { mark: number; since(mark: number): DeltaEntry[]; all(): DeltaEntry[] },
  ): DeltaPage {
    const skipToken = query.get('$skiptoken');
    const deltaToken = query.get('$deltatoken');
    let state: Extract<TokenState, { kind: 'skipToken' }>;
    if (skipToken !== null || deltaToken !== null) {
      const token = (skipToken ?? deltaToken) as string;
      const found = this.states.get(token);
      const expected = skipToken !== null ? 'skipToken' : 'deltaToken';
      if (!found || found.kind !== expected || found.userId !== userId || found.folderId !== folder.id) {
        throw syncStateNotFound();
      }
      state =
        found.kind === 'skipToken'
          ? found
          : {
              ...found,
              kind: 'skipToken',
              mark: changes.mark,
              remaining: changes.since(found.mark).filter((entry) => matches(entry, found.query)),
            };
    } else {
      const roundQuery = readRoundQuery(query, preferences);
      state = {
        kind: 'skipToken',
        userId,
        folderId: folder.id,
        mark: changes.mark,
        query: roundQuery,
        // The first round lists what is in the folder now; nothing removed before it shows.
        remaining: changes.all().filter((entry) => matches(entry, roundQuery)),
      };
    }
    if (skipToken !== null) this.states.delete(skipToken);
    const size = Math.min(state.query.pageSize, this.pageSizeLimit);
    const entries = state.remaining.slice(0, size);
    const remaining = state.remaining.slice(size);
    if (remaining.length > 0) {
      return { entries, query: state.query, next: { skipToken: this.issue({ ...state, remaining }) } };
    }
    const { userId: owner, folderId, mark, query: roundQuery } = state;
    return {
      entries,
      query: state.query,
      next: {
        deltaToken: this.issue({ kind: 'deltaToken', userId: owner, folderId, mark, query: roundQuery }),
      },
    };
  }

  private issue(state: TokenState): string {
    const token = randomBytes(24).toString('base64url');
    this.states.set(token, state);
    while (this.states.size > this.cacheSize) {
      const oldest = this.states.keys().next().value;
      if (oldest === undefined) break;
      this.states.delete(oldest);
    }
    return token;
  }
}

function readRoundQuery(query: URLSearchParams, preferences: Preferences): RoundQuery {
  for (const name of query.keys()) {
    if (name.startsWith('$') && !['$select', '$filter', '$top'].includes(name)) {
      throw badRequest(`Query option '${name}' is not supported with delta.`);
    }
  }
  const filter = query.get('$filter');
  let received: RoundQuery['received'];
  if (filter !== null) {
    const match = RECEIVED_FILTER.exec(filter.trim());
    const at = match?.[2] ? Date.parse(match[2]) : Number.NaN;
    if (!match || Number.isNaN(at)) {
      throw badRequest('Delta supports only $filter=receivedDateTime ge|gt {date-time}.');
    }
    received = { after: at, inclusive: match[1]?.toLowerCase() === 'ge' };
  }
  const top = query.get('$top');
  const requested = top !== null && /^\d+$/.test(top) ? Number(top) : preferences.maxPageSize;
  return {
    select: parseSelect(query, messageCollection),
    received,
    pageSize: Math.min(Math.max(requested ?? DEFAULT_DELTA_PAGE_SIZE, 1), MAX_DELTA_PAGE_SIZE),
  };
}

function matches(entry: DeltaEntry, query: RoundQuery): boolean {
  if (entry.kind === 'removed' || !query.received) return true;
  const received = Date.parse(entry.message.receivedDateTime);
  return query.received.inclusive ? received >= query.received.after : received > query.received.after;
}
