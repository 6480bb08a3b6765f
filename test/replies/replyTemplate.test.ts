import { describe, expect, it } from 'vitest';
import { importerSettingsSchema } from '../../shared/helpdesk/settings.js';
import {
  type RenderReplyInput,
  renderReply,
  replySettingsSchema,
} from '../../shared/replies/replyTemplate.js';

const SEPARATOR = '==== reply above this line ====';

function input(overrides: Partial<RenderReplyInput> = {}): RenderReplyInput {
  return {
    template: {
      subject: '[#{ticketNumber}] {title}',
      body: '{replySeparator}\n\nDear {contactName},\n\n{body}\n\n{agentName}',
    },
    separator: SEPARATOR,
    ticketReference: '[#123]',
    values: { ticketNumber: '123', title: 'Printer <b>broken</b>', contactName: 'Karin', agentName: 'Aziz' },
    body: { text: 'Switch it off.\r\nThen on.', html: '<p>Switch it <b>off</b>.</p>' },
    inlineImages: [],
    ...overrides,
  };
}

describe('renderReply', () => {
  it('fills subject and text, the separator first', () => {
    const rendered = renderReply(input());
    expect(rendered.subject).toBe('[#123] Printer <b>broken</b>');
    expect(rendered.text).toBe(`${SEPARATOR}\n\nDear Karin,\n\nSwitch it off.\nThen on.\n\nAziz`);
  });

  it('escapes the values in the HTML but keeps the agent’s (already safe) HTML', () => {
    const { html } = renderReply(input());
    expect(html).toContain('<p>Switch it <b>off</b>.</p>');
    expect(html).toContain(`<p>${SEPARATOR}</p>`);
    expect(renderReply(input({ template: { subject: '{title}', body: '{title}: {body}' } })).html).toContain(
      'Printer &lt;b&gt;broken&lt;/b&gt;',
    );
  });

  it('puts the separator on top when the template leaves it out, and none when the helpdesk has none', () => {
    const template = { subject: '{title}', body: 'Hello {contactName},\n{body}' };
    expect(renderReply(input({ template })).text.startsWith(`${SEPARATOR}\n\nHello Karin`)).toBe(true);
    expect(renderReply(input({ separator: '' })).text.startsWith('Dear Karin,')).toBe(true);
    expect(renderReply(input({ separator: '' })).html.startsWith('<div>Dear Karin,')).toBe(true);
  });

  it('adds the ticket reference to a subject without it, and keeps the subject one line', () => {
    const rendered = renderReply(
      input({
        template: { subject: 'About {title}', body: '{body}' },
        values: { ...input().values, title: 'a\r\nBcc: x@y' },
      }),
    );
    expect(rendered.subject).toBe('[#123] About a Bcc: x@y');
  });

  it('expands placeholders once: a value holding "{body}" stays as written', () => {
    const values = { ...input().values, contactName: '{body}' };
    expect(renderReply(input({ values })).text).toContain('Dear {body},');
  });

  it('appends inline images the HTML does not show yet', () => {
    const shown = renderReply(
      input({ body: { text: 'x', html: '<img src="cid:a.png">' }, inlineImages: ['a.png', 'b.png'] }),
    );
    expect(shown.html.match(/cid:a\.png/g)).toHaveLength(1);
    expect(shown.html).toContain('<img src="cid:b.png" alt="b.png">');
  });
});

describe('reply templates in the settings', () => {
  it('default to one template with the separator, the body and the agent', () => {
    const settings = replySettingsSchema.parse(undefined);
    expect(settings.templates).toEqual([
      {
        id: 'default',
        subject: '[#{ticketNumber}] {title}',
        body: '{replySeparator}\n\n{body}\n\n{agentName}',
      },
    ]);
  });

  it.each([
    [{ templates: [{ id: 'a', body: 'Hi {name}\n{body}' }] }, 'templates.0.body', '{name}'],
    [{ templates: [{ id: 'a', body: 'No body here' }] }, 'templates.0.body', 'must hold {body}'],
    [{ templates: [{ id: 'a', subject: '{body}', body: '{body}' }] }, 'templates.0.subject', '{body}'],
    [{ templates: [{ id: 'a', subject: 'x\ny', body: '{body}' }] }, 'templates.0.subject', 'line breaks'],
    [
      {
        templates: [
          { id: 'a', body: '{body}' },
          { id: 'a', body: '{body}' },
        ],
      },
      'templates',
      'unique',
    ],
    [{ templates: [{ id: 'a', body: '{body}', footer: 'x' }] }, 'templates.0', 'footer'],
  ])('refuses %j at %s', (replies, path, message) => {
    const result = replySettingsSchema.safeParse(replies);
    expect(result.success).toBe(false);
    const issue = result.error?.issues[0];
    expect(issue?.path.join('.')).toBe(path);
    expect(JSON.stringify(issue)).toContain(message);
  });

  it('refuses an outbound mailbox that is not one of the helpdesk’s', () => {
    const base = {
      mailboxes: [{ id: 'main', userId: 'desk@example.test' }],
      defaultContactId: 'default-contact',
      defaultEmployee: { id: 'emp', name: 'Bot' },
    };
    expect(
      importerSettingsSchema.safeParse({ ...base, replies: { outboundMailboxId: 'main' } }).success,
    ).toBe(true);
    const refused = importerSettingsSchema.safeParse({ ...base, replies: { outboundMailboxId: 'sales' } });
    expect(refused.error?.issues[0]?.path).toEqual(['replies', 'outboundMailboxId']);
  });
});
