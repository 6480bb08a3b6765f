import { describe, expect, it } from 'vitest';
import {
  addressFreeLog,
  createReplyTelemetry,
  createTelemetry,
  MAX_TEXT_LENGTH,
  type MailboxRunSummary,
  MESSAGE_RECORD_PREFIX,
  type MessageOutcomeRecord,
  REPLY_RECORD_PREFIX,
  type ReplyOutcomeRecord,
  RUN_RECORD_PREFIX,
  withoutAddresses,
} from '../../shared/observability/telemetry.js';
import { cpuMs } from '../support/cpuTime.js';

type Level = 'info' | 'warn' | 'error';

function capture() {
  const lines: Array<{ level: Level; args: unknown[] }> = [];
  const log = {
    info: (...args: unknown[]) => lines.push({ level: 'info', args }),
    warn: (...args: unknown[]) => lines.push({ level: 'warn', args }),
    error: (...args: unknown[]) => lines.push({ level: 'error', args }),
  };
  return { telemetry: createTelemetry(log), replies: createReplyTelemetry(log), lines };
}

/** The JSON part of a line, the way the KQL in docs/monitoring.md reads it: substring after prefix + space. */
function parse(line: unknown, prefix: string): Record<string, unknown> {
  expect(typeof line).toBe('string');
  const text = String(line);
  expect(text.startsWith(`${prefix} {`)).toBe(true);
  return JSON.parse(text.slice(prefix.length + 1));
}

const message: MessageOutcomeRecord = {
  helpdeskId: 'hd-1',
  mailboxId: 'support',
  messageKey: 'k9Qf3V0x',
  outcome: 'created',
  ticketNumber: 1042,
  durationMs: 812.4,
  classification: 'normal',
  senderDomain: 'example.com',
  reason: null,
  attempt: 1,
};

const run: MailboxRunSummary = {
  helpdeskId: 'hd-1',
  mailboxId: 'support',
  trigger: 'timer',
  created: 3,
  supplemented: 2,
  skipped: 1,
  keptAside: 0,
  failed: 0,
  alreadyImported: 4,
  durationMs: 5230,
  complete: true,
  error: null,
};

describe('messageOutcome', () => {
  it('writes one line: the prefix and the record as JSON', () => {
    const { telemetry, lines } = capture();
    telemetry.messageOutcome(message);
    expect(lines).toHaveLength(1);
    expect(lines[0]?.args).toHaveLength(1);
    expect(lines[0]?.level).toBe('info');
    expect(parse(lines[0]?.args[0], MESSAGE_RECORD_PREFIX)).toEqual({
      v: 1,
      helpdeskId: 'hd-1',
      mailboxId: 'support',
      messageKey: 'k9Qf3V0x',
      outcome: 'created',
      ticketNumber: 1042,
      durationMs: 812,
      classification: 'normal',
      senderDomain: 'example.com',
      reason: null,
      attempt: 1,
      rules: [],
      rulesSkipped: [],
    });
  });

  it('names the rules that matched', () => {
    const { telemetry, lines } = capture();
    telemetry.messageOutcome({ ...message, rules: ['billing', 'vip-customers'] });
    expect(parse(lines[0]?.args[0], MESSAGE_RECORD_PREFIX).rules).toEqual(['billing', 'vip-customers']);
  });

  it('names the rules left out because they could not be evaluated', () => {
    const { telemetry, lines } = capture();
    telemetry.messageOutcome({ ...message, rules: [], rulesSkipped: ['legacy-pattern'] });
    expect(parse(lines[0]?.args[0], MESSAGE_RECORD_PREFIX).rulesSkipped).toEqual(['legacy-pattern']);
  });

  it('logs failed and kept-aside messages as warnings', () => {
    const { telemetry, lines } = capture();
    telemetry.messageOutcome({ ...message, outcome: 'failed', ticketNumber: null, reason: 'Cosmos DB 503' });
    telemetry.messageOutcome({ ...message, outcome: 'keptAside', ticketNumber: null, reason: 'too large' });
    telemetry.messageOutcome({ ...message, outcome: 'alreadyImported' });
    expect(lines.map((line) => line.level)).toEqual(['warn', 'warn', 'info']);
  });

  it('keeps only the domain of a sender given as an address', () => {
    const { telemetry, lines } = capture();
    telemetry.messageOutcome({ ...message, senderDomain: 'Jane.Doe@Contoso.COM' });
    telemetry.messageOutcome({ ...message, senderDomain: 'Jane Doe <jane.doe@fabrikam.example>' });
    telemetry.messageOutcome({ ...message, senderDomain: 'not a domain' });
    const domains = lines.map((line) => parse(line.args[0], MESSAGE_RECORD_PREFIX).senderDomain);
    expect(domains).toEqual(['contoso.com', 'fabrikam.example', null]);
    expect(JSON.stringify(lines)).not.toMatch(/jane/i);
  });

  it('removes address local parts from every text field', () => {
    const { telemetry, lines } = capture();
    telemetry.messageOutcome({
      ...message,
      outcome: 'keptAside',
      classification: 'bounce for postmaster@contoso.com',
      reason: 'recipient <john.smith+helpdesk@contoso.com> unknown; cc "mary"@fabrikam.example',
      messageKey: 'abc123@mail.contoso.com',
    });
    const line = String(lines[0]?.args[0]);
    expect(line).not.toMatch(/john|smith|postmaster|mary|abc123/i);
    const record = parse(line, MESSAGE_RECORD_PREFIX);
    expect(record.reason).toBe('recipient <*@contoso.com> unknown; cc *@fabrikam.example');
    expect(record.classification).toBe('bounce for *@contoso.com');
  });

  it('writes no body, subject or other field it was not made for', () => {
    const { telemetry, lines } = capture();
    const withContent = {
      ...message,
      body: 'Dear helpdesk, my password is hunter2',
      subject: 'Printer on fire',
    };
    telemetry.messageOutcome(withContent);
    const line = String(lines[0]?.args[0]);
    expect(line).not.toMatch(/hunter2|Printer|Dear helpdesk/);
    expect(Object.keys(parse(line, MESSAGE_RECORD_PREFIX))).not.toContain('body');
  });

  it('keeps a long reason short and on one line', () => {
    const { telemetry, lines } = capture();
    telemetry.messageOutcome({
      ...message,
      outcome: 'failed',
      reason: `first line\r\nsecond ${'x'.repeat(1000)}`,
    });
    const reason = String(parse(lines[0]?.args[0], MESSAGE_RECORD_PREFIX).reason);
    expect(reason.length).toBe(MAX_TEXT_LENGTH);
    expect(reason.startsWith('first line second x')).toBe(true);
    expect(String(lines[0]?.args[0])).not.toMatch(/[\r\n]/);
  });
});

describe('mailboxRun', () => {
  it('writes one summary line per run', () => {
    const { telemetry, lines } = capture();
    telemetry.mailboxRun(run);
    expect(lines).toHaveLength(1);
    expect(lines[0]?.level).toBe('info');
    expect(parse(lines[0]?.args[0], RUN_RECORD_PREFIX)).toEqual({ v: 1, ...run });
  });

  it('warns about a run that did not complete and reports a run that failed as an error', () => {
    const { telemetry, lines } = capture();
    telemetry.mailboxRun({ ...run, complete: false });
    telemetry.mailboxRun({ ...run, complete: false, error: 'Graph 403 for helpdesk@contoso.com' });
    expect(lines.map((line) => line.level)).toEqual(['warn', 'error']);
    expect(parse(lines[1]?.args[0], RUN_RECORD_PREFIX).error).toBe('Graph 403 for *@contoso.com');
  });
});

const reply: ReplyOutcomeRecord = {
  helpdeskId: 'hd-1',
  mailboxId: 'support',
  ticketNumber: 1042,
  replyId: '0f8e2a4c-1b3d-4e5f-8a9b-0c1d2e3f4a5b',
  outcome: 'sent',
  attempts: 1,
  round: 1,
  durationMs: 640.6,
  reason: null,
};

describe('replyOutcome', () => {
  it('writes one line per send: the prefix and the record as JSON, nothing else', () => {
    const { replies, lines } = capture();
    replies.replyOutcome({ ...reply, text: 'Dear Karin' } as ReplyOutcomeRecord);
    expect(lines).toHaveLength(1);
    expect(lines[0]?.level).toBe('info');
    expect(parse(lines[0]?.args[0], REPLY_RECORD_PREFIX)).toEqual({ v: 1, ...reply, durationMs: 641 });
  });

  it('reports a failed reply as an error and an attempt to be retried as a warning, without addresses', () => {
    const { replies, lines } = capture();
    replies.replyOutcome({
      ...reply,
      outcome: 'failed',
      reason: 'Graph: recipient karin@customer.example refused',
    });
    replies.replyOutcome({ ...reply, outcome: 'retrying', reason: 'HTTP 503' });
    replies.replyOutcome({ ...reply, outcome: 'alreadySent', mailboxId: null });
    expect(lines.map((l) => l.level)).toEqual(['error', 'warn', 'info']);
    expect(parse(lines[0]?.args[0], REPLY_RECORD_PREFIX).reason).toBe(
      'Graph: recipient *@customer.example refused',
    );
    expect(parse(lines[2]?.args[0], REPLY_RECORD_PREFIX).mailboxId).toBeNull();
  });
});

describe('attack: addresses reaching the logs in forms the stripper missed (security review, issue 20, item 10)', () => {
  it('strips percent-encoded addresses, as Graph error reasons carry them in URLs', () => {
    expect(
      withoutAddresses(
        "Resource '/users/jane.doe%40contoso.com/sendMail' not found; recipient john%2Bdesk%40fabrikam.example; twice jane%2540contoso.com",
      ),
    ).toBe(
      "Resource '/users/*%40contoso.com/sendMail' not found; recipient *%40fabrikam.example; twice *%2540contoso.com",
    );
  });

  it('strips quoted local parts, spaces and all', () => {
    expect(withoutAddresses('from "John Doe"@contoso.com and "a\\"b"@fabrikam.example')).toBe(
      'from *@contoso.com and *@fabrikam.example',
    );
  });

  it('stays linear on a long run without any address', () => {
    expect(cpuMs(() => withoutAddresses(`${'a'.repeat(200_000)} ${'b%2B'.repeat(50_000)}`))).toBeLessThan(
      500,
    );
  });

  it('a log wrapped by addressFreeLog strips every line, whatever its level', () => {
    const lines: string[] = [];
    const log = addressFreeLog({
      info: (m) => lines.push(m),
      warn: (m) => lines.push(m),
      error: (m) => lines.push(m),
    });
    log.info('a jane@contoso.com');
    log.warn('b jane.doe%40contoso.com');
    log.error('c "Jane Doe"@contoso.com');
    expect(lines).toEqual(['a *@contoso.com', 'b *%40contoso.com', 'c *@contoso.com']);
  });
});
