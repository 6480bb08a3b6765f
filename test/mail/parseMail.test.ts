import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { detectImageType, imageExtension } from '../../shared/mail/images.js';
import type { ParsedMail } from '../../shared/mail/parsedMail.js';
import {
  ATTACHMENT_REASONS,
  MailLimitError,
  MailParseError,
  type ParseLimits,
  parseMail,
} from '../../shared/mail/parseMail.js';
import { toSafeHtml } from '../../shared/mail/safeHtml.js';
import { glpiCorpus } from '../support/fixtures.js';

const corpus = glpiCorpus;
const limits: ParseLimits = {
  maxMessageBytes: 40_000_000,
  maxImageBytes: 10_000_000,
  maxImagesBytesPerMessage: 30_000_000,
};

function corpusFiles(dir = corpus): string[] {
  return readdirSync(dir)
    .flatMap((name) => {
      const full = path.join(dir, name);
      if (statSync(full).isDirectory()) return corpusFiles(full);
      return name.endsWith('.eml') ? [full] : [];
    })
    .sort();
}

const parseFile = (file: string, custom: ParseLimits = limits) =>
  parseMail(readFileSync(path.join(corpus, file)), custom);

/** A raw message from header lines and a body, with CRLF line ends. */
function message(headers: string[], body: string | Buffer): Buffer {
  const head = Buffer.from(`${headers.join('\r\n')}\r\n\r\n`, 'latin1');
  return Buffer.concat([
    head,
    typeof body === 'string' ? Buffer.from(body.replace(/\r?\n/g, '\r\n'), 'latin1') : body,
  ]);
}

const BASE_HEADERS = ['From: Sender <sender@example.com>', 'To: helpdesk@example.com', 'Subject: Test'];

function attachmentPart(
  boundary: string,
  name: string,
  type: string,
  content: Buffer,
  extra: string[] = [],
): string {
  const base64 = content.toString('base64').replace(/.{76}/g, '$&\r\n');
  return [
    `--${boundary}`,
    `Content-Type: ${type}; name="${name}"`,
    `Content-Disposition: attachment; filename="${name}"`,
    'Content-Transfer-Encoding: base64',
    ...extra,
    '',
    base64,
  ].join('\r\n');
}

function withAttachments(
  parts: Array<{ name: string; type: string; content: Buffer; extra?: string[] }>,
): Buffer {
  const boundary = 'b-outer';
  const body = [
    `--${boundary}`,
    'Content-Type: text/plain; charset=utf-8',
    '',
    'See attached.',
    ...parts.map((part) => attachmentPart(boundary, part.name, part.type, part.content, part.extra)),
    `--${boundary}--`,
    '',
  ].join('\r\n');
  return message([...BASE_HEADERS, `Content-Type: multipart/mixed; boundary="${boundary}"`], body);
}

const RED_DOT_PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAUAAAAFCAYAAACNbyblAAAAHElEQVQI12P4//8/w38GIAXDIBKE0DHxgljNBAAO9TXL0Y4OHwAAAABJRU5ErkJggg==',
  'base64',
);

describe('parseMail: the whole corpus', () => {
  const files = corpusFiles();

  it('finds every corpus mail', () => {
    // 88 mails at the top level and 9 charset-evidence mails (plus 2 notes) make up the 99 files.
    expect(files.length).toBeGreaterThanOrEqual(97);
  });

  it.each(files.map((file) => [path.relative(corpus, file)]))('%s parses without error', async (relative) => {
    const raw = readFileSync(path.join(corpus, relative));
    const mail = await parseMail(raw, limits);
    expect(mail.rawSize).toBe(raw.length);
    expect(mail.rawSha256).toBe(createHash('sha256').update(raw).digest('hex'));
    expect(typeof mail.subject).toBe('string');
    expect(mail.text).not.toContain('\ufffd\ufffd');
    for (const address of [...mail.to, ...mail.cc, ...mail.replyTo]) {
      expect(address.address).toMatch(/^[^\sA-Z@]+@[^\sA-Z@]+\.[^\sA-Z@]+$/);
    }
  });
});

interface Expectation {
  file: string;
  subject: string;
  /** null: no From header; '': a From header without a valid address. */
  from: string | null;
  text: string;
}

const NAMED: Expectation[] = [
  {
    file: '00-unicode-smileys.eml',
    subject: 'Test import mail avec emoticons unicode',
    from: 'flegastelois@teclib.com',
    text: '😄 😃 😀 😊 ☺ 😉',
  },
  {
    file: '02-unknown_user.eml',
    subject: 'Have a problem, can you help me?',
    from: 'unknown@glpi-project.org',
    text: 'I have a problem, please help me!',
  },
  {
    file: '03-tech.eml',
    subject: 'PHP fatal error',
    from: 'tech@glpi-project.org',
    text: 'Will cause a PHP fatal error:',
  },
  {
    file: '04-ticket-followup.eml',
    subject: 'Re: [GLPI #0001155] New ticket database issue',
    from: 'tech@glpi-project.org',
    text: 'Le 03/04/2019 à 10:33, admsys@mycomputer a écrit\u00a0:',
  },
  {
    file: '05-empty-from.eml',
    subject: '[Chat] New Direct Message from @glpi-dev on July 31, 2019',
    from: '',
    text: 'Unit tests are failing, could you take an eye please?',
  },
  {
    file: '06-quoted-subject.eml',
    subject: "Test'ed issue",
    from: 'normal@glpi-project.org',
    text: 'This is jsut a subject test.',
  },
  {
    file: '08-tech-and-cc.eml',
    subject: 'Ticket with observer',
    from: 'tech@glpi-project.org',
    text: 'This ticket have cc',
  },
  {
    file: '09-reply-to-tech.eml',
    subject: 'Re: [GLPI #0038927] Update - Issues with new Windows 10 machine',
    from: 'alternative.email@glpi-project.org',
    text: 'This message have reply to header, requester should be get from this header.',
  },
  {
    file: '10-missing-content-transfer-encoding.eml',
    subject: 'Test Email from Outlook',
    from: 'normal@glpi-project.org',
    text: "'Uncaught Exception UnexpectedValueException: is not known in /var/www/glpi/inc/mailcollector.class.php at line 2002'",
  },
  {
    file: '11-missing-contenttype.eml',
    subject: 'No contenttype',
    from: 'normal@glpi-project.org',
    text: 'An email without contenttype...',
  },
  {
    file: '12-missing-to.eml',
    subject: 'A message without to header',
    from: 'tech@glpi-project.org',
    text: 'This message was sent to multiple mailboxes using cci header.',
  },
  {
    file: '13-koi8-r-encoded-body.eml',
    subject: 'проверка',
    from: 'normal@glpi-project.org',
    text: 'Тест тест тест',
  },
  {
    file: '14-windows-1251-encoded-body.eml',
    subject: 'тест2',
    from: 'normal@glpi-project.org',
    text: 'Инженер Отдела информационных технологий',
  },
  {
    file: '15-image-with-no-content-disposition.eml',
    subject: 'Inlined image with no Content-Disposition',
    from: 'normal@glpi-project.org',
    text: "L'image n'apparait pas avec outlook en version HTML",
  },
  {
    file: '16-no-subject.eml',
    subject: '',
    from: 'normal@glpi-project.org',
    text: 'This is a mail without subject.',
  },
  {
    file: '17-malformed-email.eml',
    subject: 'This message is malformed',
    from: null,
    text: 'This is a malformed mail with no headers. It should be rejected properly.',
  },
  {
    file: '19-attachement-rfc5987-multiline.eml',
    subject: 'Attachement having filename using RFC5987 (multiple lines)',
    from: 'normal@glpi-project.org',
    text: 'Attached image has special chars in its filename',
  },
  {
    file: '21-monopart-html.eml',
    subject: 'Mono-part HTML message',
    from: 'normal@glpi-project.org',
    text: 'This HTML message does not use "multipart/alternative" format.',
  },
  {
    file: '22-notification-from-glpi.eml',
    subject: '[GLPI #0000001] New ticket',
    from: 'noreply@glpi-project.org',
    text: 'It should be blacklisted to prevent infinite loop.',
  },
  {
    file: '23-uuid-from-another-glpi.eml',
    subject: 'Re: [GLPI #0000001] New ticket',
    from: 'tech@glpi-project.org',
    text: 'This is a response to a ticket notification from another GLPI instance.',
  },
  {
    file: '26-illegal-char-in-body.eml',
    subject: '26 Illegal char in body',
    from: 'normal@glpi-project.org',
    text: '这是很坏的Minus – Blabla',
  },
  {
    file: '27-autoreply.eml',
    subject: 'Undelivered Mail Returned to Sender',
    from: 'mailer-daemon@glpi-project.org',
    text: "I'm sorry to inform you that the message below could not be delivered.",
  },
  {
    file: '27-empty.eml',
    subject: 'New ticket PC',
    from: 'tech@glpi-project.org',
    text: 'Le PC à 8 Gb de mémoire.',
  },
  {
    file: '30-subject-with-special-char.eml',
    subject: '30 - <GLPI> Special & chars',
    from: 'normal@glpi-project.org',
    text: 'Subject of this message contain special chars.',
  },
  {
    file: '31-html-without-body.eml',
    subject: '31 - HTML message without body',
    from: 'normal@glpi-project.org',
    text: 'This HTML message does not have a body tag.',
  },
  {
    file: '33-html-with-unwanted-tags-inside-body.eml',
    subject: '33 - HTML message with unwanted tags inside body tag',
    from: 'normal@glpi-project.org',
    text: 'these unwanted',
  },
  {
    file: '35-message-with-some-invalid-headers.eml',
    subject: '35 - Message with some invalid headers',
    from: 'normal@glpi-project.org',
    text: 'This message has some invalid headers, but it should collected anyways.',
  },
  {
    file: '36-microsoft-specific-code.eml',
    subject: '36 - Microsoft specific code',
    from: 'normal@glpi-project.org',
    text: 'Next next tab hypen',
  },
  {
    file: '42-missing-content-type.eml',
    subject: '42 - Missing Content Type',
    from: 'normal@glpi-project.org',
    text: 'Communications with UPS SC1500I lost',
  },
  {
    file: '43-korean-encoding-issue.eml',
    subject: '43 - Korean encoding issue',
    from: 'normal@glpi-project.org',
    text: '따뜻한 날씨와 함께 바다에서 수영하거나 산으로 여행을 떠날 수 있습니다.',
  },
  {
    file: '44-hebrew-encoding-issue.eml',
    subject: '44 - Hebrew encoding issue',
    from: 'normal@glpi-project.org',
    text: 'בדיקה של מייל עם עברית ואנגלית',
  },
  {
    file: '45-multiple-messageid.eml',
    subject: 'Message with multiple message IDs',
    from: 'tech@glpi-project.org',
    text: 'System name: UPS-VALENCIENNES1',
  },
  {
    file: '46-proton-android-mail-response.eml',
    subject: 'Re: [GLPI #0000123] Test ticket from Proton Android',
    from: 'tech@glpi-project.org',
    text: 'Reply from Proton Android client',
  },
  {
    file: '47-missing-charset.eml',
    subject: 'System Report',
    from: 'system@example.org',
    text: "ou n'ouvrez pas les pièces jointes si vous n'êtes pas sûr du contenu.",
  },
  {
    file: '48-refused-missing-to.eml',
    subject: 'Test email without To header that should be refused',
    from: 'unknown@glpi-project.org',
    text: "This email should trigger the bug where 'to' field is NULL in glpi_notimportedemails.",
  },
  {
    file: '50-all-invalid-addresses.eml',
    subject: '50 - Message with all invalid addresses',
    from: '',
    text: 'no valid address can be extracted',
  },
  {
    file: '51-supplier-reply.eml',
    subject: 'Re: [GLPI #0000100] Ticket for supplier reply test',
    from: 'supplier@glpi-project.org',
    text: 'This is a reply from the assigned supplier.',
  },
  {
    file: '52-missing-charset-cyrillic.eml',
    subject: '47 - Missing charset parameter',
    from: 'normal@glpi-project.org',
    text: 'ВНИМАНИЕ: Не переходите по ссылкам и не открывайте вложения piè, если вы не просматриваете контент.',
  },
  {
    file: '53-large-html-body.eml',
    subject: '53 - Large HTML Email Test',
    from: 'normal@glpi-project.org',
    text: 'Large HTML Email Test',
  },
  {
    file: '54-invalid-charset.eml',
    subject: '54 - Invalid charset',
    from: 'normal@glpi-project.org',
    text: 'This message declares an invalid charset: café and pièces jointes.',
  },
  {
    file: 'charset-evidence/01-latin1-quoted-printable.eml',
    subject: 'Ação não concluída',
    from: 'normal@glpi-project.org',
    text: 'Ação não concluída: número ç e acentuação',
  },
  {
    file: 'charset-evidence/02-windows1252-quoted-printable.eml',
    subject: 'Remetente inválido – teste',
    from: 'normal@glpi-project.org',
    text: 'Remetente inválido: “aspas”, travessão – e euro €',
  },
  {
    file: 'charset-evidence/03-utf8-mojibake.eml',
    subject: 'Conteúdo com mojibake',
    from: 'normal@glpi-project.org',
    text: 'Ação não concluída no módulo de chamados.',
  },
  {
    file: 'charset-evidence/05-invalid-base64-fallback.eml',
    subject: 'Base64 invalido',
    from: 'normal@glpi-project.org',
    text: 'Solicitação em base64 inválido ainda deve continuar',
  },
  {
    file: 'charset-evidence/08-replacement-token-mojibake.eml',
    subject: 'Token replacement',
    from: 'normal@glpi-project.org',
    text: 'Conteúdo \ufffd parcial',
  },
];

describe('parseMail: named corpus mails', () => {
  it('covers at least 30 mails', () => {
    expect(NAMED.length).toBeGreaterThanOrEqual(30);
  });

  it.each(NAMED)('$file', async ({ file, subject, from, text }) => {
    const mail = await parseFile(file);
    expect(mail.subject).toBe(subject);
    if (from === null) expect(mail.from).toBeNull();
    else expect(mail.from?.address).toBe(from);
    expect(mail.text).toContain(text);
  });
});

describe('parseMail: headers and addresses', () => {
  it('decodes ids, dates and the header map', async () => {
    const mail = await parseFile('04-ticket-followup.eml');
    expect(mail.messageId).toBe('<961c2885-94e6-2343-b000-280c809fcdb1@glpi-project.org>');
    expect(mail.inReplyTo).toEqual(['<GLPI-Ticket-1155.1554270788.1601670865@mycomputer>']);
    expect(mail.references).toEqual(['<GLPI-1155.1554270788.1601670865@mycomputer>']);
    expect(mail.date).toBe('2019-04-03T09:48:25.000Z');
    expect(mail.headers['user-agent']).toEqual([
      'Mozilla/5.0 (X11; Linux x86_64; rv:60.0) Gecko/20100101 Thunderbird/60.6.1',
    ]);
    expect(mail.headers.received).toHaveLength(5);
    expect(Object.keys(mail.headers).every((name) => name === name.toLowerCase())).toBe(true);
  });

  it('decodes encoded words in the header map', async () => {
    const mail = await parseFile('00-unicode-smileys.eml');
    expect(mail.headers.from).toEqual(['François legastelois <flegastelois@teclib.com>']);
    expect(mail.from).toEqual({ address: 'flegastelois@teclib.com', name: 'François legastelois' });
  });

  it('keeps Reply-To apart from the sender', async () => {
    const mail = await parseFile('09-reply-to-tech.eml');
    // "(alt address)" is an RFC 5322 comment, not part of the display name.
    expect(mail.from).toEqual({ address: 'alternative.email@glpi-project.org', name: 'Tech' });
    expect(mail.replyTo).toEqual([{ address: 'tech@glpi-project.org', name: 'Tech Ni Cian' }]);
  });

  it('reads several To and Cc addresses, lower-cased', async () => {
    expect((await parseFile('44-multiple-to.eml')).to).toEqual([
      { address: 'unittests@glpi-project.org', name: 'GLPI debug' },
      { address: 'normal@glpi-project.org', name: 'Normal User' },
    ]);
    expect((await parseFile('08-tech-and-cc.eml')).cc).toEqual([
      { address: 'normal@glpi-project.org', name: 'Normal User' },
    ]);
    const upper = await parseMail(
      message(['From: John <JOHN.Doe@Example.COM>', 'To: Help@Example.com'], 'x'),
      limits,
    );
    expect(upper.from?.address).toBe('john.doe@example.com');
    expect(upper.to[0]?.address).toBe('help@example.com');
  });

  it('drops invalid addresses without throwing', async () => {
    expect((await parseFile('49-invalid-cc-email-address.eml')).cc).toEqual([]);
    expect((await parseFile('38-email-address-too-long.eml')).cc).toEqual([]);
    const all = await parseFile('50-all-invalid-addresses.eml');
    expect(all.from).toEqual({ address: '', name: '' });
    expect(all.cc).toEqual([]);
    expect((await parseFile('05-empty-from.eml')).from?.address).toBe('');
    expect((await parseFile('12-missing-to.eml')).to).toEqual([]);
  });

  it('takes the Message-ID header, not look-alikes, and null when there is none', async () => {
    expect((await parseFile('45-multiple-messageid.eml')).messageId).toBe(
      '<UNIQUEID@AS1PR01MB9084.eurprd01.prod.exchangelabs.com>',
    );
    expect((await parseFile('34-no-message-id-header.eml')).messageId).toBeNull();
    expect((await parseFile('27-empty.eml')).messageId).toBe(
      '<AM8P193MB10278B864828F060453F6EEF94369@AM8P193MB1027.EURP193.PROD.OUTLOOK.COM>',
    );
  });

  it('takes the first valid Date and null without one', async () => {
    expect((await parseFile('35-message-with-some-invalid-headers.eml')).date).toBe(
      '2018-06-07T10:05:51.000Z',
    );
    expect((await parseFile('17-malformed-email.eml')).date).toBeNull();
  });

  it('keeps a long subject whole', async () => {
    const mail = await parseFile('52-long-subject.eml');
    expect(mail.subject.length).toBe(272);
    expect(mail.subject.endsWith('12345678901234567890')).toBe(true);
  });
});

describe('parseMail: character sets', () => {
  it('koi8-r body and windows-1251 encoded-word subject and name', async () => {
    const mail = await parseFile('13-koi8-r-encoded-body.eml');
    expect(mail.subject).toBe('проверка');
    expect(mail.text).toContain('---------- Переадресованное сообщение ----------');
    expect(mail.html).toContain('<div dir="auto">Тест тест тест</div>');
  });

  it('windows-1251 body, subject and sender name', async () => {
    const mail = await parseFile('14-windows-1251-encoded-body.eml');
    expect(mail.from).toEqual({ address: 'normal@glpi-project.org', name: 'Михаил Сазанов' });
    expect(mail.text).toContain('МИХАИЛ САЗАНОВ');
    expect(mail.text).toContain('«Лучшее — детям»');
  });

  it('iso-8859-8-i (Hebrew) in text and HTML', async () => {
    const mail = await parseFile('44-hebrew-encoding-issue.eml');
    expect(mail.text).toContain('Testing at the request of glpi support\nבדיקה של מייל עם עברית ואנגלית');
    expect(mail.html).toContain('עברית');
  });

  it('ks_c_5601-1987 (Korean) in text and HTML', async () => {
    const mail = await parseFile('43-korean-encoding-issue.eml');
    expect(mail.text.startsWith('다리는 계절입니다.')).toBe(true);
    expect(mail.html).toContain('바비큐 파티를');
  });

  it('GB2312 with a character outside GB2312 decodes as GBK', async () => {
    expect((await parseFile('26-illegal-char-in-body.eml')).text).toBe('这是很坏的Minus – Blabla\n\n\n\n');
  });

  it('invalid UTF-8: valid sequences stay, stray bytes are read as windows-1252', async () => {
    const body = Buffer.from([
      ...Buffer.from('Caf'),
      0xe9,
      ...Buffer.from(' cr'),
      0xe8,
      ...Buffer.from('me \u20ac \u041f\u0440\u0438\u0432\u0435\u0442 '),
      0xc3,
      0x28,
      0x93,
      0x0a,
    ]);
    const mail = await parseMail(
      message(
        [...BASE_HEADERS, 'Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: 8bit'],
        body,
      ),
      limits,
    );
    expect(mail.text).toBe('Café crème € Привет Ã(“\n');
  });

  it('missing charset: Latin-1 bytes and UTF-8 text both come out right', async () => {
    expect((await parseFile('47-missing-charset.eml')).text).toContain('pièces jointes');
    expect((await parseFile('52-missing-charset-cyrillic.eml')).text).toContain('вложения piè,');
  });

  it('an invalid charset name falls back like a missing one', async () => {
    const mail = await parseFile('54-invalid-charset.eml');
    expect(mail.html).toContain('café and pièces jointes');
  });

  it('UTF-8 labelled as Latin-1 is read as UTF-8', async () => {
    const mail = await parseMail(
      message(
        [...BASE_HEADERS, 'Content-Type: text/plain; charset=iso-8859-1'],
        Buffer.from('Grüße aus Köln'),
      ),
      limits,
    );
    expect(mail.text).toBe('Grüße aus Köln');
  });

  it('an HTML part without charset takes the one from its meta tag', async () => {
    const html = Buffer.concat([
      Buffer.from(
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=windows-1251"></head><body>',
      ),
      Buffer.from([0xf2, 0xe5, 0xf1, 0xf2]),
      Buffer.from('</body></html>'),
    ]);
    const mail = await parseMail(message([...BASE_HEADERS, 'Content-Type: text/html'], html), limits);
    expect(mail.html).toContain('<body>тест</body>');
    expect(mail.text).toBe('тест');
  });

  it('UTF-7 bodies are decoded; their markup then meets the sanitiser like any other', async () => {
    const text = await parseMail(
      message(
        [...BASE_HEADERS, 'Content-Type: text/plain; charset=utf-7'],
        'Gr+APwA3w-e, +BD8EQAQ4BDIENQRC- +ZeVnLIqe-',
      ),
      limits,
    );
    expect(text.text).toBe('Grüße, привет 日本語');
    const html = await parseMail(
      message(
        [...BASE_HEADERS, 'Content-Type: text/html; charset="UTF-7"'],
        '+ADw-p+AD4-Hallo+ADw-/p+AD4APA-script+AD4-alert(1)+ADw-/script+AD4-',
      ),
      limits,
    );
    expect(html.html).toBe('<p>Hallo</p><script>alert(1)</script>');
    const safe = toSafeHtml({
      html: html.html,
      text: html.text,
      allowExternalImages: false,
      imageUrlForContentId: () => null,
    });
    expect(safe).toContain('<p>Hallo</p>');
    expect(safe).not.toContain('script');
    expect(safe).not.toContain('alert');
  });

  it('UTF-7 encoded words are decoded; broken UTF-7 and unknown charsets do not throw', async () => {
    const subject = async (value: string) =>
      (await parseMail(Buffer.from(`From: a@example.com\r\nSubject: ${value}\r\n\r\nx`), limits)).subject;
    expect(await subject('=?utf-7?Q?Gr+APwA3w-e?= =?UTF-7?B?K0JEOEVRQVE0QkRJRU5RUkMt?=')).toBe('Grüßeпривет');
    const broken = await parseMail(
      message(
        [...BASE_HEADERS, 'Content-Type: text/plain; charset=utf-7'],
        Buffer.from([0x2b, 0xff, 0xfe, 0x41]),
      ),
      limits,
    );
    expect(typeof broken.text).toBe('string');
    const unknown = await parseMail(
      message([...BASE_HEADERS, 'Content-Type: text/plain; charset=x-no-such-charset'], 'Grüße'),
      limits,
    );
    expect(unknown.text).toBe('Grüße');
  });

  it('BOM, control bytes and mojibake are cleaned (charset evidence)', async () => {
    expect((await parseFile('charset-evidence/06-utf8-bom.eml')).text).toBe(
      'Texto com BOM antes do conteúdo\n',
    );
    expect((await parseFile('charset-evidence/07-control-bytes-quoted-printable.eml')).text).toBe(
      'Linha 1\nLinha 2\n',
    );
    const html = await parseFile('charset-evidence/04-html-mojibake.eml');
    expect(html.html).toContain('<p>Ação &amp; validação <strong>preservada</strong></p>');
    expect((await parseFile('charset-evidence/09-broken-utf8-quoted-printable.eml')).text).toBe(
      'PrefixoÃ(Sufixo\n',
    );
  });

  it('encoded-word subjects: Q, B, split multi-byte characters, raw 8-bit', async () => {
    const subject = async (value: string | Buffer) =>
      (
        await parseMail(
          Buffer.concat([
            Buffer.from('From: a@example.com\r\nSubject: '),
            Buffer.from(value),
            Buffer.from('\r\n\r\nx'),
          ]),
          limits,
        )
      ).subject;
    expect(await subject('=?ISO-8859-1?Q?Caf=E9_cr=E8me?=')).toBe('Café crème');
    expect(await subject('=?UTF-8?B?w6k=?= =?UTF-8?B?w6k=?=')).toBe('éé');
    expect(await subject('=?UTF-8?Q?=C3?=\r\n =?UTF-8?Q?=A9t=C3=A9?=')).toBe('été');
    expect(await subject('Re: =?utf-8?q?Probl=C3=A8me?= urgent')).toBe('Re: Problème urgent');
    expect(
      await subject(`=?ks_c_5601-1987?B?${Buffer.from([0xb4, 0xd9, 0xb8, 0xae]).toString('base64')}?=`),
    ).toBe('다리');
    expect(
      await subject(`=?iso-8859-8-i?B?${Buffer.from([0xe1, 0xe3, 0xe9, 0xf7, 0xe4]).toString('base64')}?=`),
    ).toBe('בדיקה');
    expect(await subject(Buffer.from([0x52, 0xe9, 0x73, 0x75, 0x6d, 0xe9]))).toBe('Résumé');
    expect(await subject(Buffer.from('Привет'))).toBe('Привет');
  });
});

describe('parseMail: bodies', () => {
  it.each([
    '40.1-empty-content-multipart.eml',
    '40.2-empty-content-html.eml',
    '40.3-empty-content-plaintext.eml',
  ])('%s: empty body', async (file) => {
    const mail = await parseFile(file);
    expect(mail.text).toBe('');
    expect(mail.html).toBeNull();
    expect(mail.attachments).toEqual([]);
  });

  it('HTML-only mail: raw HTML kept, readable text derived from it', async () => {
    const mail = await parseFile('21-monopart-html.eml');
    expect(mail.mimeType).toBe('text/html');
    expect(mail.html).toBe(
      '<html>\n<body>\n<p>This HTML message does not use <strong>"multipart/alternative"</strong> format.</p>\n</body>\n</html>\n',
    );
    expect(mail.text).toBe('This HTML message does not use "multipart/alternative" format.');
    const nested = await parseFile('46-proton-android-mail-response.eml');
    expect(
      nested.text.startsWith('Reply from Proton Android client\n\nSent from Proton Mail for Android'),
    ).toBe(true);
    expect(nested.text).toContain('> =-=-=-= To reply by email, write above this line =-=-=-=');
  });

  it('HTML-only mail keeps links typed in angle brackets as text', async () => {
    expect((await parseFile('39-link-in-content.eml')).text).toBe(
      'This HTML message has a link <https://glpi-project.org>.',
    );
  });

  it('text-only mail has no HTML', async () => {
    const mail = await parseFile('02-unknown_user.eml');
    expect(mail.mimeType).toBe('text/plain');
    expect(mail.html).toBeNull();
    expect(mail.text).toBe('Hello,\n\nI have a problem, please help me!\n\nRegards,\n\n');
  });

  it('a part whose headers run into the body without an empty line keeps its body', async () => {
    const mail = await parseFile('45-multiple-messageid.eml');
    expect(mail.text).toContain('2025-07-11T12:15:52+0000 - Info - 00C00F00 - Test email');
  });

  it('multipart/report: type and report type', async () => {
    const boundary = 'rep';
    const raw = message(
      [
        'From: MAILER-DAEMON@example.com',
        'To: helpdesk@example.com',
        'Subject: Undelivered Mail Returned to Sender',
        `Content-Type: multipart/report; report-type=delivery-status; boundary="${boundary}"`,
      ],
      [
        `--${boundary}`,
        'Content-Type: text/plain; charset=us-ascii',
        '',
        'Your message could not be delivered.',
        `--${boundary}`,
        'Content-Type: message/delivery-status',
        '',
        'Reporting-MTA: dns; mx.example.com',
        '',
        'Final-Recipient: rfc822; nobody@example.com',
        'Status: 5.1.1',
        `--${boundary}`,
        'Content-Type: message/rfc822',
        '',
        'From: helpdesk@example.com',
        'Subject: Original',
        '',
        'Original body',
        `--${boundary}--`,
        '',
      ].join('\n'),
    );
    const mail = await parseMail(raw, limits);
    expect(mail.mimeType).toBe('multipart/report');
    expect(mail.reportType).toBe('delivery-status');
    expect(mail.text).toContain('Your message could not be delivered.');
    expect(mail.text).toContain('Status: 5.1.1');
    expect(mail.attachments.map((attachment) => attachment.contentType)).toEqual(['message/rfc822']);
  });

  it('gives the same result when the stream arrives in tiny chunks', async () => {
    for (const file of ['45-multiple-messageid.eml', '27-empty.eml', '13-koi8-r-encoded-body.eml']) {
      const raw = readFileSync(path.join(corpus, file));
      const chunks: Buffer[] = [];
      for (let i = 0; i < raw.length; i += 7) chunks.push(raw.subarray(i, i + 7));
      const streamed = await parseMail(Readable.from(chunks), limits);
      expect(streamed).toEqual(await parseMail(raw, limits));
    }
  });

  it('gives the same result when the pieces it joins a stream into split headers and boundaries', async () => {
    // Many small parts: the joined pieces (64 KB and up) end inside header lines, header blocks and
    // boundary lines, at other places than the slices of the same mail read from memory.
    const boundary = 'part-boundary-0123456789';
    const parts = Array.from(
      { length: 400 },
      (_, i) =>
        `--${boundary}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Disposition: attachment; filename="note-${i}.txt"\r\n\r\n${`line ${i} `.repeat(80)}\r\n`,
    );
    const raw = Buffer.from(
      `From: Anna <anna@example.com>\r\nTo: desk@example.com\r\nSubject: Many parts\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="${boundary}"\r\n\r\n--${boundary}\r\nContent-Type: text/plain\r\n\r\nSee the notes.\r\n${parts.join('')}--${boundary}--\r\n`,
    );
    expect(raw.length).toBeGreaterThan(5 * 64 * 1024);
    const fromMemory = await parseMail(raw, { ...limits, maxParts: 500 });
    expect(fromMemory.attachments).toHaveLength(400);
    for (const size of [7, 1000, 70_001]) {
      const chunks: Buffer[] = [];
      for (let i = 0; i < raw.length; i += size) chunks.push(raw.subarray(i, i + size));
      expect(await parseMail(Readable.from(chunks), { ...limits, maxParts: 500 })).toEqual(fromMemory);
    }
  });
});

describe('parseMail: attachments and images', () => {
  it('37: a PNG sent as application/octet-stream is an image, shown inline', async () => {
    const mail = await parseFile('37-image-with-octet-stream-type.eml');
    const [image] = mail.attachments;
    expect(image).toMatchObject({
      filename: '37-red-dot.png',
      contentType: 'application/octet-stream',
      detectedType: 'image/png',
      size: 85,
      inline: true,
      contentId: 'image001.png@01D90577.61DCAEC0',
      reason: null,
    });
    expect(image?.content?.equals(RED_DOT_PNG)).toBe(true);
    expect(image?.sha256).toBe(createHash('sha256').update(RED_DOT_PNG).digest('hex'));
  });

  it('an .exe named photo.png and declared image/png is not an image; neither is SVG', async () => {
    const exe = Buffer.concat([Buffer.from('MZ\x90\x00\x03\x00\x00\x00', 'latin1'), randomBytes(2000)]);
    const svg = Buffer.from(
      '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect width="1" height="1"/></svg>',
    );
    const mail = await parseMail(
      withAttachments([
        { name: 'photo.png', type: 'image/png', content: exe },
        { name: 'drawing.svg', type: 'image/svg+xml', content: svg },
      ]),
      limits,
    );
    for (const attachment of mail.attachments) {
      expect(attachment.detectedType).toBeNull();
      expect(attachment.content).toBeNull();
      expect(attachment.reason).toBe(ATTACHMENT_REASONS.notImage);
    }
    expect(
      mail.attachments.map((attachment) => [attachment.filename, attachment.contentType, attachment.size]),
    ).toEqual([
      ['photo.png', 'image/png', exe.length],
      ['drawing.svg', 'image/svg+xml', svg.length],
    ]);
  });

  it('other attachments are counted and hashed but not kept', async () => {
    const mail = await parseFile('23-multibyte_base64_attachment_name.eml');
    const [pdf] = mail.attachments;
    expect(pdf).toMatchObject({
      contentType: 'application/pdf',
      detectedType: null,
      content: null,
      inline: false,
    });
    // The name is encoded with no-break spaces; file names get plain ones.
    expect(pdf?.filename).toBe('DUC_SING WAH PAN (MA Chan Ho Ki).pdf');
    expect(pdf?.size).toBe(3028);
    expect(pdf?.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('decodes RFC 2231 and RFC 2047 file names', async () => {
    expect((await parseFile('19-attachement-rfc5987-multiline.eml')).attachments[0]?.filename).toBe(
      '19-ʂǷèɕɩɐɫ ȼɦâʁȿ.gif',
    );
    expect(
      (await parseFile('24.1-attachement-multibyte-name-with-continuation.eml')).attachments[0]?.filename,
    ).toBe('24.1-长文件名，将导致内容处置标头中的连续行.txt');
  });

  it('keeps images within the per-image and per-message limits only', async () => {
    const png = (size: number) => Buffer.concat([RED_DOT_PNG, Buffer.alloc(size - RED_DOT_PNG.length, 7)]);
    const mail = await parseMail(
      withAttachments([
        { name: 'a.png', type: 'image/png', content: png(5000) },
        { name: 'big.png', type: 'image/png', content: png(20_000) },
        { name: 'b.png', type: 'image/png', content: png(5000) },
        { name: 'c.png', type: 'image/png', content: png(5000) },
      ]),
      { ...limits, maxImageBytes: 10_000, maxImagesBytesPerMessage: 12_000 },
    );
    expect(
      mail.attachments.map((attachment) => [
        attachment.filename,
        attachment.content?.length ?? null,
        attachment.reason,
      ]),
    ).toEqual([
      ['a.png', 5000, null],
      ['big.png', null, ATTACHMENT_REASONS.imageTooLarge],
      ['b.png', 5000, null],
      ['c.png', null, ATTACHMENT_REASONS.messageImagesTooLarge],
    ]);
    expect(mail.attachments.every((attachment) => attachment.detectedType === 'image/png')).toBe(true);
  });

  it('detects the five image types from their bytes and names their extensions', async () => {
    const gif =
      (await parseFile('18-image-on-multiple-lines.eml')).attachments[0]?.content ?? Buffer.alloc(0);
    const jpeg = (await parseFile('27-empty.eml')).attachments[0]?.content ?? Buffer.alloc(0);
    const bmp = Buffer.alloc(70);
    bmp.write('BM', 0, 'latin1');
    bmp.writeUInt32LE(70, 2);
    bmp.writeUInt32LE(54, 10);
    bmp.writeUInt32LE(40, 14);
    bmp.writeInt32LE(1, 18);
    bmp.writeInt32LE(1, 22);
    bmp.writeUInt16LE(1, 26);
    bmp.writeUInt16LE(24, 28);
    // A lossy key frame of 16 x 16: frame tag, start code, width and height.
    const webp = Buffer.concat([
      Buffer.from('RIFF'),
      Buffer.from([30, 0, 0, 0]),
      Buffer.from('WEBPVP8 '),
      Buffer.from([10, 0, 0, 0, 0x50, 0x01, 0x00, 0x9d, 0x01, 0x2a, 16, 0, 16, 0]),
      Buffer.alloc(8),
    ]);
    expect(await detectImageType(RED_DOT_PNG)).toBe('image/png');
    expect(await detectImageType(gif)).toBe('image/gif');
    expect(await detectImageType(jpeg)).toBe('image/jpeg');
    expect(await detectImageType(bmp)).toBe('image/bmp');
    expect(await detectImageType(webp)).toBe('image/webp');
    expect(await detectImageType(Buffer.from('%PDF-1.7\n'))).toBeNull();
    expect(await detectImageType(new Uint8Array())).toBeNull();
    expect(['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'image/bmp'].map(imageExtension)).toEqual([
      'png',
      'jpg',
      'gif',
      'webp',
      'bmp',
    ]);
    expect(imageExtension('image/svg+xml')).toBeNull();
  });
});

function nestedMessage(depth: number): Buffer {
  const lines = [...BASE_HEADERS, 'Content-Type: multipart/mixed; boundary="b0"', ''];
  for (let level = 1; level < depth; level++) {
    lines.push(`--b${level - 1}`, `Content-Type: multipart/mixed; boundary="b${level}"`, '');
  }
  lines.push(`--b${depth - 1}`, 'Content-Type: text/plain', '', 'deep');
  for (let level = depth - 1; level >= 0; level--) lines.push(`--b${level}--`);
  return Buffer.from(`${lines.join('\r\n')}\r\n`);
}

function wideMessage(parts: number): Buffer {
  const lines = [...BASE_HEADERS, 'Content-Type: multipart/mixed; boundary="w"', ''];
  for (let i = 0; i < parts; i++) lines.push('--w', 'Content-Type: text/plain', '', `part ${i}`);
  lines.push('--w--', '');
  return Buffer.from(lines.join('\r\n'));
}

async function limitOf(promise: Promise<ParsedMail>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(MailLimitError);
    expect((error as Error).message).toContain((error as MailLimitError).limit);
    return (error as MailLimitError).limit;
  }
  throw new Error('expected a MailLimitError');
}

describe('parseMail: limits', () => {
  it('nesting: 20 levels pass, 30 levels are refused', async () => {
    expect((await parseMail(nestedMessage(20), limits)).text).toContain('deep');
    expect(await limitOf(parseMail(nestedMessage(30), limits))).toBe('maxMimeDepth');
  });

  it('parts: 400 pass, 600 are refused', async () => {
    expect((await parseMail(wideMessage(400), limits)).text).toContain('part 399');
    expect(await limitOf(parseMail(wideMessage(600), limits))).toBe('maxParts');
  });

  it("attack: a boundary in RFC 2231 form (boundary*=utf-8''b) hides the parts from a boundary regex", async () => {
    const wide = (count: number) => {
      const lines = [...BASE_HEADERS, "Content-Type: multipart/mixed; boundary*=utf-8''w", ''];
      for (let i = 0; i < count; i++) lines.push('--w', 'Content-Type: text/plain', '', `part ${i}`);
      lines.push('--w--', '');
      return Buffer.from(lines.join('\r\n'));
    };
    expect((await parseMail(wide(400), limits)).text).toContain('part 399');
    expect(await limitOf(parseMail(wide(600), limits))).toBe('maxParts');
  });

  it('attack: comments in the Content-Type header hide the nesting from a boundary regex', async () => {
    const nested = (depth: number) => {
      const lines = [...BASE_HEADERS, 'Content-Type: (x) multipart/mixed; (c) boundary=b0 (comment)', ''];
      for (let level = 1; level < depth; level++) {
        lines.push(`--b${level - 1}`, `Content-Type: multipart/mixed;(why) boundary="b${level}"(not)`, '');
      }
      lines.push(`--b${depth - 1}`, 'Content-Type: text/plain', '', 'deep');
      for (let level = depth - 1; level >= 0; level--) lines.push(`--b${level}--`);
      return Buffer.from(`${lines.join('\r\n')}\r\n`);
    };
    expect((await parseMail(nested(20), limits)).text).toContain('deep');
    expect(await limitOf(parseMail(nested(30), limits))).toBe('maxMimeDepth');
  });

  it('nesting through embedded messages counts as the parser reads it', async () => {
    const embedded = (depth: number): string =>
      depth === 0
        ? 'Content-Type: text/plain\r\n\r\ninnermost\r\n'
        : `Content-Type: message/rfc822\r\nContent-Disposition: inline\r\n\r\nSubject: level ${depth}\r\n${embedded(depth - 1)}`;
    const raw = (depth: number) => Buffer.from(`${BASE_HEADERS.join('\r\n')}\r\n${embedded(depth)}`);
    await expect(parseMail(raw(15), limits)).resolves.toBeDefined();
    expect(await limitOf(parseMail(raw(30), limits))).toBe('maxMimeDepth');
  });

  it('size: a message over maxMessageBytes is refused, from a buffer and from a stream', async () => {
    const raw = message(BASE_HEADERS, 'x'.repeat(50_000));
    expect(await limitOf(parseMail(raw, { ...limits, maxMessageBytes: 20_000 }))).toBe('maxMessageBytes');
    let produced = 0;
    const endless = new Readable({
      read() {
        produced += 65_536;
        this.push(
          produced === 65_536
            ? Buffer.concat([raw, Buffer.alloc(65_536 - raw.length, 120)])
            : Buffer.alloc(65_536, 120),
        );
      },
    });
    expect(await limitOf(parseMail(endless, { ...limits, maxMessageBytes: 1_000_000 }))).toBe(
      'maxMessageBytes',
    );
    expect(produced).toBeLessThan(2_000_000);
  });

  it('size: the limit also stops a message in the middle of an attachment', async () => {
    const head = message(
      [...BASE_HEADERS, 'Content-Type: multipart/mixed; boundary="a"'],
      '--a\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n',
    );
    let sent = 0;
    const endless = new Readable({
      read() {
        sent++;
        this.push(sent === 1 ? head : Buffer.from(`${'QUJD'.repeat(19)}\r\n`.repeat(800)));
      },
    });
    expect(await limitOf(parseMail(endless, { ...limits, maxMessageBytes: 3_000_000 }))).toBe(
      'maxMessageBytes',
    );
  });

  it('header block: more than 256 KB of headers is refused', async () => {
    const headers = [
      ...BASE_HEADERS,
      ...Array.from({ length: 4000 }, (_, i) => `X-Filler-${i}: ${'y'.repeat(80)}`),
    ];
    expect(await limitOf(parseMail(message(headers, 'body'), limits))).toBe('maxHeaderBytes');
  });

  it('no corpus mail trips a default limit', async () => {
    for (const file of corpusFiles())
      await expect(parseMail(readFileSync(file), limits)).resolves.toBeDefined();
  });

  it('rejects bad limits and unreadable input clearly', async () => {
    await expect(parseMail(Buffer.from('x'), { ...limits, maxParts: 0 })).rejects.toThrow(/maxParts/);
    await expect(parseMail(Buffer.alloc(0), limits)).rejects.toBeInstanceOf(MailParseError);
  });

  it('passes errors of the source stream on unchanged', async () => {
    const failing = new Readable({
      read() {
        this.destroy(new Error('connection reset'));
      },
    });
    await expect(parseMail(failing, limits)).rejects.toThrow('connection reset');
  });
});

describe('parseMail: streaming a 30 MB attachment', () => {
  it('hashes and measures it without holding it several times over', { timeout: 120_000 }, async () => {
    const size = 30 * 1024 * 1024;
    const boundary = 'big';
    const expected = createHash('sha256');
    function* generate(): Generator<Buffer> {
      yield message(
        [...BASE_HEADERS, `Content-Type: multipart/mixed; boundary="${boundary}"`],
        `--${boundary}\r\nContent-Type: text/plain\r\n\r\nBig file attached.\r\n--${boundary}\r\nContent-Type: application/octet-stream; name="big.png"\r\nContent-Transfer-Encoding: base64\r\n\r\n`,
      );
      const step = 57 * 1024;
      for (let offset = 0; offset < size; offset += step) {
        const bytes =
          offset === 0
            ? Buffer.concat([RED_DOT_PNG, randomBytes(step - RED_DOT_PNG.length)])
            : randomBytes(Math.min(step, size - offset));
        expected.update(bytes);
        yield Buffer.from(bytes.toString('base64').replace(/.{76}/g, '$&\r\n'));
      }
      yield Buffer.from(`\r\n--${boundary}--\r\n`);
    }

    const baseline = process.memoryUsage();
    let peakRss = baseline.rss;
    let peakHeap = baseline.heapUsed + baseline.external;
    const sampler = setInterval(() => {
      const now = process.memoryUsage();
      peakRss = Math.max(peakRss, now.rss);
      peakHeap = Math.max(peakHeap, now.heapUsed + now.external);
    }, 5);
    const mail = await parseMail(Readable.from(generate()), { ...limits, maxMessageBytes: 50_000_000 });
    clearInterval(sampler);

    const rssGrowth = peakRss - baseline.rss;
    const heapGrowth = peakHeap - (baseline.heapUsed + baseline.external);
    console.log(
      `30 MB attachment: rss grew ${(rssGrowth / 1048576).toFixed(1)} MB, heap+external grew ${(heapGrowth / 1048576).toFixed(1)} MB`,
    );
    const [attachment] = mail.attachments;
    expect(attachment?.size).toBe(size);
    expect(attachment?.sha256).toBe(expected.digest('hex'));
    expect(attachment?.detectedType).toBe('image/png');
    expect(attachment?.content).toBeNull();
    expect(attachment?.reason).toBe(ATTACHMENT_REASONS.imageTooLarge);
    expect(mail.text).toBe('Big file attached.');
    expect(rssGrowth).toBeLessThan(3 * size);
    expect(heapGrowth).toBeLessThan(3 * size);
  });
});

describe('parseMail: archiving attachments as they stream past (R12)', () => {
  it('hands every attachment to the archive, byte for byte, and records where it went', async () => {
    const pdf = randomBytes(300_000);
    const archived = new Map<string, Buffer>();
    const parsed = await parseMail(
      withAttachments([
        { name: 'report.pdf', type: 'application/pdf', content: pdf },
        { name: 'dot.png', type: 'image/png', content: RED_DOT_PNG },
      ]),
      limits,
      async (attachment, content) => {
        const chunks: Buffer[] = [];
        for await (const chunk of content) chunks.push(chunk as Buffer);
        const name = `${attachment.index}-${attachment.filename}`;
        archived.set(name, Buffer.concat(chunks));
        return name;
      },
    );
    expect(parsed.attachments.map((a) => a.archivedAs)).toEqual(['0-report.pdf', '1-dot.png']);
    expect(archived.get('0-report.pdf')).toEqual(pdf);
    expect(archived.get('1-dot.png')).toEqual(RED_DOT_PNG);
    expect(parsed.attachments[1]?.content).toEqual(RED_DOT_PNG);
  });

  it('archives nothing unless asked', async () => {
    const parsed = await parseMail(
      withAttachments([{ name: 'a.pdf', type: 'application/pdf', content: randomBytes(10) }]),
      limits,
    );
    expect(parsed.attachments[0]?.archivedAs).toBeNull();
  });

  it('fails the parse when the archive fails, so a mail is never imported with a missing copy', async () => {
    await expect(
      parseMail(
        withAttachments([{ name: 'a.pdf', type: 'application/pdf', content: randomBytes(200_000) }]),
        limits,
        async (_a, content) => {
          content.resume();
          throw new Error('blob storage unavailable');
        },
      ),
    ).rejects.toThrow(/blob storage unavailable/);
  });
});
