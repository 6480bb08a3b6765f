import { useEffect, useState } from 'preact/hooks';
import type { ImporterSettings } from '../shared/helpdesk/settings.js';
import type { RuleTrace } from '../shared/rules/evaluateRules.js';
import { type ApiProblem, call, helpdeskPath, settle } from './api.js';
import {
  Attachments,
  classificationText,
  Facts,
  type MailAttachment,
  MailHtml,
  Problem,
  Section,
} from './ui.js';

/** What POST …/preview answers (shared/import/previewMail.ts); only what this page shows. */
interface Preview {
  decision: { action: string; reason: string };
  subject?: string;
  from?: { name: string; address: string } | null;
  to?: Array<{ address: string }>;
  classification?: { kind: string; reasons: string[] };
  ticketNumber?: number | null;
  mailbox?: string;
  rules?: RuleTrace[];
  links?: Array<{ entity: string; number: string; source: string; unresolved?: boolean }>;
  ruleOutcome?: Record<string, unknown>;
  replyText?: string;
  html?: string;
  /** `html` with the mail's inline images as data: URLs, for display only. */
  displayHtml?: string;
  attachments?: MailAttachment[];
}

export function PreviewPage({ helpdeskId }: { helpdeskId: string }) {
  const [mailboxes, setMailboxes] = useState<string[]>([]);
  const [mailbox, setMailbox] = useState('');
  const [file, setFile] = useState<File | null>(null);
  const [dragging, setDragging] = useState(false);
  const [preview, setPreview] = useState<Preview | null>(null);
  const [problem, setProblem] = useState<ApiProblem | null>(null);

  useEffect(() => {
    settle(
      call<ImporterSettings>('GET', helpdeskPath(helpdeskId, '/importer')),
      (response) => {
        const ids = response.body.mailboxes.map((m) => m.id);
        setMailboxes(ids);
        setMailbox(ids[0] ?? '');
      },
      setProblem,
    );
  }, [helpdeskId]);

  useEffect(() => {
    if (!file) return;
    setPreview(null);
    const query = mailbox ? `?mailbox=${encodeURIComponent(mailbox)}` : '';
    settle(
      call<Preview>('POST', helpdeskPath(helpdeskId, `/preview${query}`), {
        bytes: file,
        contentType: 'message/rfc822',
      }),
      (response) => setPreview(response.body),
      setProblem,
    );
  }, [helpdeskId, file, mailbox]);

  return (
    <>
      <h1>Preview a mail</h1>
      <p>
        See what the importer would do with a mail under the current settings of {helpdeskId}. Nothing is
        imported, stored or sent.
      </p>
      <div class="inline">
        <label>
          Rules of mailbox{' '}
          <select name="mailbox" value={mailbox} onChange={(e) => setMailbox(e.currentTarget.value)}>
            {mailboxes.map((id) => (
              <option key={id} value={id}>
                {id}
              </option>
            ))}
          </select>
        </label>
      </div>
      {/* biome-ignore lint/a11y/noStaticElementInteractions: the drop target; the file input inside it is the accessible way in. */}
      <div
        class={dragging ? 'dropzone dragging' : 'dropzone'}
        onDragOver={(event) => {
          event.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={(event) => {
          event.preventDefault();
          setDragging(false);
          const dropped = event.dataTransfer?.files[0];
          if (dropped) setFile(dropped);
        }}
      >
        <p>Drop an .eml file here</p>
        <label>
          or choose one{' '}
          <input
            name="eml"
            type="file"
            accept=".eml,message/rfc822"
            onChange={(e) => setFile(e.currentTarget.files?.[0] ?? null)}
          />
        </label>
        {file && <p class="muted">{file.name}</p>}
      </div>
      <Problem problem={problem} />
      {preview && <PreviewResult preview={preview} />}
    </>
  );
}

function PreviewResult({ preview }: { preview: Preview }) {
  return (
    <>
      <Section title="Decision">
        <p class={`decision ${preview.decision.action}`}>
          <strong>{preview.decision.action}</strong>: {preview.decision.reason}
        </p>
        <Facts
          facts={[
            ['Subject', preview.subject ?? '—'],
            ['From', preview.from ? `${preview.from.name} <${preview.from.address}>` : '—'],
            ['To', preview.to?.map((a) => a.address).join(', ') || '—'],
            ['Classification', classificationText(preview.classification)],
            ['Ticket number in the subject', preview.ticketNumber ? `#${preview.ticketNumber}` : '—'],
            ['Rules of mailbox', preview.mailbox ?? '—'],
            [
              'Links',
              preview.links?.length
                ? preview.links
                    .map((l) => `${l.entity} ${l.number}${l.unresolved ? ' (unresolved)' : ''}`)
                    .join(', ')
                : '—',
            ],
          ]}
        />
      </Section>
      {preview.rules && (
        <Section title="Rules">
          {preview.rules.length === 0 ? (
            <p class="muted">This mailbox has no rules.</p>
          ) : (
            <table class="rules">
              <thead>
                <tr>
                  <th>Rule</th>
                  <th>Matched</th>
                  <th>Actions</th>
                </tr>
              </thead>
              <tbody>
                {preview.rules.map((rule) => (
                  <tr key={rule.id}>
                    <td>{rule.id}</td>
                    <td>{rule.matched ? 'yes' : 'no'}</td>
                    <td>{rule.actions.map((a) => a.action).join(', ') || '—'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {preview.ruleOutcome && <pre>{JSON.stringify(preview.ruleOutcome, null, 2)}</pre>}
        </Section>
      )}
      {preview.html !== undefined && (
        <Section title="The mail">
          <h3>Attachments</h3>
          <Attachments attachments={preview.attachments ?? []} />
          <h3>Text that would be imported</h3>
          <pre>{preview.replyText}</pre>
          <h3>Sanitised HTML</h3>
          <MailHtml html={preview.displayHtml ?? preview.html} title="The mail's HTML" />
        </Section>
      )}
    </>
  );
}
