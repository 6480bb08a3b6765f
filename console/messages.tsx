import { useEffect, useState } from 'preact/hooks';
import type { ListedMessage } from '../shared/import/keptAside.js';
import type { MessageDetail } from '../shared/import/messageDetail.js';
import { type ApiProblem, asProblem, call, helpdeskPath, settle } from './api.js';
import { href } from './places.js';
import { Attachments, classificationText, Facts, MailHtml, Problem, Section, when } from './ui.js';

const STATES = [
  ['keptAside', 'Kept aside'],
  ['flagged', 'Flagged'],
  ['ignored', 'Ignored'],
  ['all', 'All mail'],
] as const;
type ListState = (typeof STATES)[number][0];

const PAGE_SIZE = 25;

interface Filters {
  state: ListState;
  from: string;
  subject: string;
}

interface ListPage {
  messages: ListedMessage[];
  continuationToken: string | null;
}

export function MessagesPage({ helpdeskId }: { helpdeskId: string }) {
  const [filters, setFilters] = useState<Filters>({ state: 'keptAside', from: '', subject: '' });
  const [draft, setDraft] = useState<Filters>(filters);
  // The tokens of the pages before this one, so "Previous" can go back; null is the first page.
  const [tokens, setTokens] = useState<Array<string | null>>([null]);
  const [page, setPage] = useState<ListPage | null>(null);
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const token = tokens[tokens.length - 1] ?? null;

  useEffect(() => {
    const query = new URLSearchParams({ state: filters.state, pageSize: String(PAGE_SIZE) });
    if (filters.from.trim()) query.set('from', filters.from.trim());
    if (filters.subject.trim()) query.set('subject', filters.subject.trim());
    if (token) query.set('continuationToken', token);
    settle(
      call<ListPage>('GET', helpdeskPath(helpdeskId, `/messages?${query}`)),
      (response) => {
        setPage(response.body);
      },
      setProblem,
    );
  }, [helpdeskId, filters, token]);

  return (
    <>
      <h1>Mail that needs a person</h1>
      <form
        class="filters inline"
        onSubmit={(event) => {
          event.preventDefault();
          setFilters(draft);
          setTokens([null]);
        }}
      >
        <label>
          Show{' '}
          <select
            name="state"
            value={draft.state}
            onChange={(e) => setDraft({ ...draft, state: e.currentTarget.value as ListState })}
          >
            {STATES.map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
        </label>
        <label>
          From contains{' '}
          <input
            name="from"
            value={draft.from}
            onInput={(e) => setDraft({ ...draft, from: e.currentTarget.value })}
          />
        </label>
        <label>
          Subject contains{' '}
          <input
            name="subject"
            value={draft.subject}
            onInput={(e) => setDraft({ ...draft, subject: e.currentTarget.value })}
          />
        </label>
        <button type="submit">Filter</button>
      </form>
      <Problem problem={problem} />
      {page && page.messages.length === 0 && <p class="muted">No mail here.</p>}
      {page && page.messages.length > 0 && (
        <table class="messages">
          <thead>
            <tr>
              <th>Received</th>
              <th>Mailbox</th>
              <th>From</th>
              <th>Subject</th>
              <th>State</th>
              <th>Why</th>
              <th>Attempts</th>
            </tr>
          </thead>
          <tbody>
            {page.messages.map((m) => (
              <tr key={m.key} data-key={m.key}>
                <td>{when(m.receivedDateTime)}</td>
                <td>{m.mailboxId}</td>
                <td>{m.from ?? '—'}</td>
                <td>
                  <a href={href(helpdeskId, 'messages', m.key)}>{m.subject || '(no subject)'}</a>
                </td>
                <td>{m.state}</td>
                <td>{m.reason ?? '—'}</td>
                <td>{m.attempts}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <p class="pager">
        <button type="button" disabled={tokens.length <= 1} onClick={() => setTokens(tokens.slice(0, -1))}>
          Previous page
        </button>
        <span>page {tokens.length}</span>
        <button
          type="button"
          disabled={!page?.continuationToken}
          onClick={() => page?.continuationToken && setTokens([...tokens, page.continuationToken])}
        >
          Next page
        </button>
      </p>
    </>
  );
}

export function MessageDetailPage({ helpdeskId, messageKey }: { helpdeskId: string; messageKey: string }) {
  const [detail, setDetail] = useState<MessageDetail | null>(null);
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const [outcome, setOutcome] = useState<string | null>(null);
  const path = helpdeskPath(helpdeskId, `/messages/${encodeURIComponent(messageKey)}`);
  const load = () =>
    settle(call<MessageDetail>('GET', path), (response) => setDetail(response.body), setProblem);
  useEffect(() => void load(), []);

  const act = async (what: () => Promise<string>) => {
    let done: string | null = null;
    let failure: ApiProblem | null = null;
    try {
      done = await what();
    } catch (error) {
      failure = asProblem(error);
    }
    // The mail as it is now; then what became of the action, which the reload does not clear.
    await load();
    setOutcome(done);
    setProblem(failure);
  };

  const mail = detail?.mail;
  return (
    <>
      <p>
        <a href={href(helpdeskId, 'messages')}>← all mail that needs a person</a>
      </p>
      <h1>{detail?.subject || mail?.subject || messageKey}</h1>
      <Problem problem={problem} />
      {outcome && (
        <p class="saved" role="status">
          {outcome}
        </p>
      )}
      {detail && (
        <>
          <Section title="Why it is here">
            <Facts
              facts={[
                ['State', detail.state],
                ['Reason', detail.reason ?? '—'],
                ['Last error', detail.lastError ?? '—'],
                ['Attempts', detail.attempts],
                ['Classification', classificationText(detail.classification)],
                ['Rules that matched', detail.rulesMatched.join(', ') || '—'],
                ['Ticket', detail.ticketNumber === null ? '—' : `#${detail.ticketNumber}`],
                ['Received', when(detail.receivedDateTime)],
                ['Mailbox', detail.mailboxId],
              ]}
            />
            <p>
              <a class="button" href={`/api/${path}/raw`} download>
                Download the original .eml
              </a>
            </p>
          </Section>
          {detail.state === 'keptAside' && <ResolveActions path={path} onAction={act} />}
          {mail ? (
            <Section title="The mail">
              <Facts
                facts={[
                  ['From', mail.from ? `${mail.from.name} <${mail.from.address}>` : '—'],
                  ['To', mail.to.map((a) => a.address).join(', ') || '—'],
                  ['Cc', mail.cc.map((a) => a.address).join(', ') || '—'],
                  ['Date', when(mail.date)],
                  ['Size', `${mail.rawSize.toLocaleString()} bytes`],
                ]}
              />
              <h3>Attachments</h3>
              <Attachments attachments={mail.attachments} />
              <h3>As sent (sanitised HTML)</h3>
              <MailHtml html={mail.displayHtml} title="The mail's HTML" />
              <details>
                <summary>Reply text and full text</summary>
                <pre>{mail.replyText}</pre>
                <pre>{mail.fullText}</pre>
              </details>
              <details>
                <summary>Important headers</summary>
                <Facts
                  facts={Object.entries(mail.headers).map(([name, values]) => [name, values.join('\n')])}
                />
              </details>
            </Section>
          ) : (
            <p class="muted">The mail cannot be shown: {detail.mailUnavailable}</p>
          )}
        </>
      )}
    </>
  );
}

const NAME_KEY = 'helpdesk-console.name';

/** Retry, or a person's decision: add to a ticket, make a ticket, discard (POST …/resolve). */
function ResolveActions({
  path,
  onAction,
}: {
  path: string;
  onAction: (what: () => Promise<string>) => Promise<void>;
}) {
  const [by, setBy] = useState(() => localStorage.getItem(NAME_KEY) ?? '');
  const [ticketNumber, setTicketNumber] = useState('');
  const [priorityId, setPriorityId] = useState('');
  const [note, setNote] = useState('');
  const resolve = (body: Record<string, unknown>) =>
    onAction(async () => {
      localStorage.setItem(NAME_KEY, by);
      const { body: result } = await call<{ action: string; ticketNumber: number | null; state: string }>(
        'POST',
        `${path}/resolve`,
        { json: { ...body, by, ...(note.trim() ? { note } : {}) } },
      );
      const ticket = result.ticketNumber === null ? '' : ` (ticket #${result.ticketNumber})`;
      return `Resolved: ${result.action}${ticket}, ${result.state === 'done' ? 'done' : 'planned, finished by the next run'}.`;
    });
  return (
    <Section title="Decide">
      <div class="row">
        <label class="field">
          <span class="label">Your name (recorded; when signed in, your account is)</span>
          <input name="by" value={by} onInput={(e) => setBy(e.currentTarget.value)} />
        </label>
        <label class="field">
          <span class="label">Note (required to discard)</span>
          <input name="note" value={note} onInput={(e) => setNote(e.currentTarget.value)} />
        </label>
      </div>
      <div class="actions">
        <button
          type="button"
          onClick={() =>
            onAction(async () => {
              await call('POST', `${path}/retry`);
              return 'Queued for another import attempt.';
            })
          }
        >
          Retry import
        </button>
        <span class="group">
          <label>
            Ticket number{' '}
            <input
              name="ticketNumber"
              type="number"
              min={1}
              value={ticketNumber}
              onInput={(e) => setTicketNumber(e.currentTarget.value)}
            />
          </label>
          <button
            type="button"
            onClick={() => resolve({ action: 'linkToTicket', ticketNumber: Number(ticketNumber) })}
          >
            Add to this ticket
          </button>
        </span>
        <span class="group">
          <label>
            Priority (optional){' '}
            <input
              name="priorityId"
              value={priorityId}
              onInput={(e) => setPriorityId(e.currentTarget.value)}
            />
          </label>
          <button
            type="button"
            onClick={() =>
              resolve({
                action: 'createTicket',
                fields: priorityId.trim() ? { priorityId: priorityId.trim() } : {},
              })
            }
          >
            Make a new ticket
          </button>
        </span>
        <button type="button" class="danger" onClick={() => resolve({ action: 'discard' })}>
          Discard
        </button>
      </div>
    </Section>
  );
}
