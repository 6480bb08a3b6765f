import type { ComponentChildren } from 'preact';
import { type ApiProblem, SIGN_IN_URL } from './api.js';

export function Problem({ problem }: { problem: ApiProblem | null }) {
  if (!problem) return null;
  return (
    <p class="problem" role="alert">
      {problem.message}
      {problem.status === 401 && (
        <>
          {' '}
          <a href={SIGN_IN_URL}>Sign in</a>
        </>
      )}
    </p>
  );
}

export function when(iso: string | null | undefined): string {
  if (!iso) return '—';
  return new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
}

export function classificationText(c: { kind: string; reasons: string[] } | null | undefined): string {
  if (!c) return '—';
  return `${c.kind}${c.reasons.length ? ` (${c.reasons.join('; ')})` : ''}`;
}

export function Section({ title, children }: { title: string; children: ComponentChildren }) {
  return (
    <section class="card">
      <h2>{title}</h2>
      {children}
    </section>
  );
}

/** Key-value rows, for the small records the API answers (a report, counts, a rule outcome). */
export function Facts({ facts }: { facts: Array<[string, ComponentChildren]> }) {
  return (
    <dl class="facts">
      {facts.map(([name, value]) => (
        <div key={name}>
          <dt>{name}</dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  );
}

export interface MailAttachment {
  filename: string | null;
  contentType?: string;
  declaredType?: string;
  detectedType: string | null;
  size: number;
  inline: boolean;
  kept: boolean;
  reason: string | null;
}

/**
 * A mail's sanitised HTML, in a frame with every sandbox restriction (no script, no forms, no
 * navigation of the console, an origin of its own) and the console's own policy inherited.
 */
export function MailHtml({ html, title }: { html: string; title: string }) {
  return <iframe class="mail-html" title={title} sandbox="" srcdoc={html} />;
}

export function Attachments({ attachments }: { attachments: MailAttachment[] }) {
  if (attachments.length === 0) return <p class="muted">No attachments.</p>;
  return (
    <table class="attachments">
      <thead>
        <tr>
          <th>File</th>
          <th>Type</th>
          <th>Size</th>
          <th>Kept</th>
        </tr>
      </thead>
      <tbody>
        {attachments.map((a, index) => (
          <tr key={`${a.filename}-${index}`}>
            <td>
              {a.filename ?? '(no name)'}
              {a.inline ? ' (inline)' : ''}
            </td>
            <td>{a.detectedType ?? a.declaredType ?? a.contentType ?? '—'}</td>
            <td>{a.size.toLocaleString()} bytes</td>
            <td>{a.kept ? 'yes' : `no${a.reason ? `: ${a.reason}` : ''}`}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
