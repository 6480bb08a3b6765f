import { useEffect, useState } from 'preact/hooks';
import type { MailboxStatus } from '../shared/import/ports.js';
import { type ApiProblem, asProblem, call, helpdeskPath, settle } from './api.js';
import { href } from './places.js';
import { Problem, when } from './ui.js';

/**
 * The helpdesks this browser manages: there is no API listing helpdesks (what a person may see is decided
 * per helpdesk), so the console keeps the ids it was given (`?helpdesk=ID` in its URL, or added here).
 */
const STORAGE_KEY = 'helpdesk-console.helpdesks';

function rememberedHelpdesks(): string[] {
  let stored: unknown = [];
  try {
    stored = JSON.parse(localStorage.getItem(STORAGE_KEY) ?? '[]');
  } catch {
    stored = [];
  }
  const fromUrl = new URLSearchParams(location.search).getAll('helpdesk');
  const ids = [...(Array.isArray(stored) ? stored.map(String) : []), ...fromUrl];
  return [...new Set(ids.map((id) => id.trim()).filter(Boolean))];
}

interface Status {
  helpdeskId: string;
  enabled: boolean;
  mailboxes: Array<MailboxStatus & { needsAttention: number }>;
}

interface ImportReport {
  mailboxes: Array<{
    mailboxId: string;
    status: string;
    created: number[];
    supplemented: number[];
    skipped: number;
    keptAside: number;
    failed: number;
    alreadyImported: number;
    problems: Array<{ key: string | null; outcome: string; reason: string | null }>;
    durationMs: number;
  }>;
}

export function HelpdesksPage() {
  const [ids, setIds] = useState(rememberedHelpdesks);
  const [adding, setAdding] = useState('');
  useEffect(() => localStorage.setItem(STORAGE_KEY, JSON.stringify(ids)), [ids]);
  return (
    <>
      <h1>Helpdesks</h1>
      {ids.length === 0 && <p>No helpdesk yet: add one by its id.</p>}
      {ids.map((id) => (
        <HelpdeskCard key={id} helpdeskId={id} onForget={() => setIds(ids.filter((other) => other !== id))} />
      ))}
      <form
        class="inline"
        onSubmit={(event) => {
          event.preventDefault();
          const id = adding.trim();
          if (id && !ids.includes(id)) setIds([...ids, id]);
          setAdding('');
        }}
      >
        <label>
          Helpdesk id <input value={adding} onInput={(e) => setAdding(e.currentTarget.value)} required />
        </label>
        <button type="submit">Add</button>
      </form>
    </>
  );
}

function HelpdeskCard({ helpdeskId, onForget }: { helpdeskId: string; onForget: () => void }) {
  const [status, setStatus] = useState<Status | null>(null);
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const [report, setReport] = useState<ImportReport | null>(null);
  const [importing, setImporting] = useState(false);

  const load = () =>
    settle(
      call<Status>('GET', helpdeskPath(helpdeskId, '/importer/status')),
      (response) => {
        setStatus(response.body);
      },
      setProblem,
    );
  useEffect(() => void load(), []);

  const importNow = async () => {
    setImporting(true);
    setReport(null);
    let failure: ApiProblem | null = null;
    try {
      setReport((await call<ImportReport>('POST', helpdeskPath(helpdeskId, '/import'))).body);
    } catch (error) {
      failure = asProblem(error);
    }
    setImporting(false);
    // The status after the run; a refused import's problem stays in view.
    await load();
    if (failure) setProblem(failure);
  };

  return (
    <section class="card helpdesk" data-helpdesk={helpdeskId}>
      <h2>
        {helpdeskId}{' '}
        {status && (
          <span class={status.enabled ? 'badge ok' : 'badge off'}>
            {status.enabled ? 'enabled' : 'disabled'}
          </span>
        )}
      </h2>
      <p class="links">
        <a href={href(helpdeskId, 'settings')}>Settings</a>
        <a href={href(helpdeskId, 'messages')}>Mail that needs a person</a>
        <a href={href(helpdeskId, 'preview')}>Preview a mail</a>
        <button type="button" class="link" onClick={onForget}>
          Forget
        </button>
      </p>
      <Problem problem={problem} />
      {status && (
        <table class="status">
          <thead>
            <tr>
              <th>Mailbox</th>
              <th>Last successful check</th>
              <th>Last run</th>
              <th>Last run's counts</th>
              <th>Last error</th>
              <th>Needs a person</th>
            </tr>
          </thead>
          <tbody>
            {status.mailboxes.map((m) => (
              <tr key={m.mailboxId} data-mailbox={m.mailboxId}>
                <td>
                  {m.mailboxId}
                  {m.resolvedAddress && <div class="muted">{m.resolvedAddress.address}</div>}
                </td>
                <td>{when(m.lastSuccessfulCheckAt)}</td>
                <td>
                  {when(m.lastRunAt)}
                  {m.lastRunComplete === false && <div class="muted">stopped before the end</div>}
                </td>
                <td>
                  {m.lastCounts
                    ? Object.entries(m.lastCounts)
                        .map(([name, count]) => `${name} ${count}`)
                        .join(', ')
                    : '—'}
                </td>
                <td class={m.lastError ? 'error' : ''}>
                  {m.lastError ? `${m.lastError.message} (${when(m.lastError.at)})` : '—'}
                </td>
                <td class="attention">
                  {m.needsAttention > 0 ? <a href={href(helpdeskId, 'messages')}>{m.needsAttention}</a> : '0'}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <button type="button" onClick={importNow} disabled={importing}>
        {importing ? 'Importing…' : 'Import now'}
      </button>
      {report && <ImportReportTable report={report} />}
    </section>
  );
}

function ImportReportTable({ report }: { report: ImportReport }) {
  return (
    <table class="report" aria-label="Import report">
      <caption>Import report</caption>
      <thead>
        <tr>
          <th>Mailbox</th>
          <th>Result</th>
          <th>New tickets</th>
          <th>Supplemented</th>
          <th>Skipped</th>
          <th>Kept aside</th>
          <th>Failed</th>
          <th>Already imported</th>
          <th>Took</th>
        </tr>
      </thead>
      <tbody>
        {report.mailboxes.map((m) => (
          <tr key={m.mailboxId}>
            <td>{m.mailboxId}</td>
            <td>
              {m.status}
              {m.problems.length > 0 && (
                <div class="error">
                  {m.problems.map((p) => `${p.outcome}${p.reason ? `: ${p.reason}` : ''}`).join('; ')}
                </div>
              )}
            </td>
            <td>{m.created.length ? m.created.map((n) => `#${n}`).join(', ') : '0'}</td>
            <td>{m.supplemented.length ? m.supplemented.map((n) => `#${n}`).join(', ') : '0'}</td>
            <td>{m.skipped}</td>
            <td>{m.keptAside}</td>
            <td>{m.failed}</td>
            <td>{m.alreadyImported}</td>
            <td>{(m.durationMs / 1000).toFixed(1)} s</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
