import { describe, expect, it } from 'vitest';
import { demoHelpdesk } from '../../local/demoHelpdesk.js';
import { previewMail } from '../../shared/import/previewMail.js';
import { ProcessingBudget, ProcessingTimeExceeded } from '../../shared/mail/processingBudget.js';
import { extractReply } from '../../shared/mail/replyText.js';
import { htmlTooDeep, htmlToText, toSafeHtml } from '../../shared/mail/safeHtml.js';
import { cpuTimed } from '../support/cpuTime.js';
import { stallHtml, stallMail } from '../support/hostileMail.js';

/** Security review (issue 20, item 1): one crafted mail must not stall a worker. */

const safe = (html: string) =>
  toSafeHtml({ html, text: '', allowExternalImages: false, imageUrlForContentId: () => null });
const MB = 1024 * 1024;
/**
 * Measured here: about 0.5–1 s (printed). The bound sits well above that so a loaded CI machine never fails
 * it, and far below the ~100 s the quadratic extraction took, so that regression still fails.
 */
const STALL_BOUND_MS = 10_000;

describe('attack: 490 nested Outlook history-marker divs around 5 MB of text (the stall mail)', () => {
  it('previews in linear time (about a second), with the history cut at the outermost marker', async () => {
    const raw = stallMail(490, 5 * MB);
    const start = performance.now();
    const preview = await previewMail(raw, demoHelpdesk());
    const ms = performance.now() - start;
    console.log(`stall mail (${(raw.length / MB).toFixed(1)} MB raw) previewed in ${ms.toFixed(0)} ms`);
    expect((preview.decision as { action: string }).action).toBe('createTicket');
    expect(ms).toBeLessThan(STALL_BOUND_MS);
  });

  it('reply extraction reads each marker without reading its whole subtree again', () => {
    const html = stallHtml(490, 5 * MB);
    const { result, ms } = cpuTimed(() => extractReply({ text: 'Hello', html, separator: '' }));
    expect(result.replyHtml).toContain('Hello');
    expect(result.replyHtml).not.toContain('someone who quoted');
    expect(ms).toBeLessThan(STALL_BOUND_MS / 2);
  });
});

describe('attack: an empty comment <!--> hides the nesting from a depth guard that reads it as still open', () => {
  const html = `<!-->${'<div>'.repeat(5000)}<b>deep</b>${'</div>'.repeat(5000)}`;

  it('the depth guard counts what the parser builds', () => {
    expect(htmlTooDeep(html)).toBe(true);
    expect(htmlTooDeep(`<!-->${'<div>'.repeat(400)}x`)).toBe(false);
  });

  it('reply extraction, text and sanitising fall back to text instead of overflowing the stack', () => {
    const reply = extractReply({ text: 'Reply', html, separator: '' });
    expect(reply.replyHtml).toBe('<p>Reply</p>');
    expect(htmlToText(html)).toBe('deep');
    expect(safe(html)).toBe('<p>deep</p>');
  });
});

describe('attack: markup built so that each element costs a pass over its siblings or its ancestors', () => {
  const text = 'From: someone. '.repeat((5 * MB) / 15);

  it.each([
    [
      '490 nested blockquotes around 5 MB',
      `${'<blockquote>'.repeat(490)}${text}${'</blockquote>'.repeat(490)}`,
    ],
    [
      '490 nested links around 5 MB',
      `${'<a href="https://x.example/">'.repeat(490)}${text}${'</a>'.repeat(490)}`,
    ],
    ['245 nested list items around 5 MB', `${'<ul><li>'.repeat(245)}${text}${'</li></ul>'.repeat(245)}`],
    [
      '80 000 Gmail quote containers side by side',
      '<div class="gmail_quote"><blockquote>x</blockquote></div>'.repeat(80_000),
    ],
    ['300 000 refused images', '<img src="x:y">a'.repeat(300_000)],
    [
      'a history marker followed by 300 000 paragraphs to cut',
      `<p>Reply</p><div style="border-top:solid #E1E1E1 1.0pt"><p><b>From:</b> x</p></div>${'<p>a</p>'.repeat(300_000)}`,
    ],
  ])('%s: text, reply and sanitising each stay linear', (_name, html) => {
    const stages: Array<() => unknown> = [
      () => htmlToText(html),
      () => extractReply({ text: 'x', html, separator: '==== reply above ====' }),
      () => safe(html),
    ];
    for (const work of stages) expect(cpuTimed(work).ms).toBeLessThan(6000);
  });

  it('the separator is matched on a 1 MB line without spreading its words onto the stack', () => {
    const line = 'word '.repeat(200_000);
    expect(extractReply({ text: line, html: null, separator: '==== reply above ====' }).replyText).toBe(
      line.trim(),
    );
  });
});

describe('attack: work past the mail’s processing budget', () => {
  it('stops at the next checkpoint, in reply extraction and sanitising alike', () => {
    const html = '<p>a</p>'.repeat(100_000);
    const spent = new ProcessingBudget(0);
    expect(() => extractReply({ text: 'x', html, separator: '' }, spent)).toThrow(ProcessingTimeExceeded);
    expect(() =>
      toSafeHtml({
        html,
        text: '',
        allowExternalImages: false,
        imageUrlForContentId: () => null,
        budget: spent,
      }),
    ).toThrow(ProcessingTimeExceeded);
    expect(() => htmlToText(html, spent)).toThrow(ProcessingTimeExceeded);
  });

  it('a preview that runs out of budget says the mail would be kept aside', async () => {
    const preview = await previewMail(stallMail(10, 100_000), demoHelpdesk(), new ProcessingBudget(0));
    expect(preview.decision).toEqual({
      action: 'keepAside',
      reason: expect.stringContaining('processing budget') as unknown,
    });
  });
});
