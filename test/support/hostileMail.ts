/**
 * Crafted mail from the security review (issue 20): each builds one attack, deterministic, as raw MIME.
 */

const HEADERS = [
  'From: Mallory <mallory@attacker.example>',
  'To: desk@example.test',
  'Subject: Printer broken',
  'Date: Mon, 23 Nov 2026 08:00:00 +0000',
  'Message-ID: <stall@attacker.example>',
  'MIME-Version: 1.0',
];

/** Outlook's history marker: a div with a top border whose text starts with "From:". */
const MARKER_OPEN = '<div style="border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0cm 0cm 0cm">';

/** The stall mail's HTML: `depth` nested Outlook history-marker divs around `textBytes` of text. */
export function stallHtml(depth = 490, textBytes = 5 * 1024 * 1024): string {
  const line = 'From: someone who quoted a very long history, again and again and again. ';
  const text = line.repeat(Math.ceil(textBytes / line.length)).slice(0, textBytes);
  return `<html><body><p>Hello</p>${MARKER_OPEN.repeat(depth)}<p>${text}</p>${'</div>'.repeat(depth)}</body></html>`;
}

/**
 * The stall mail: the HTML above as the only part (base64, so no line is long). Every marker's text
 * is the whole text below it, so reading each marker's text costs depth × size.
 */
export function stallMail(depth = 490, textBytes = 5 * 1024 * 1024): Buffer {
  const body = Buffer.from(stallHtml(depth, textBytes)).toString('base64').replace(/.{76}/g, '$&\r\n');
  return Buffer.from(
    [
      ...HEADERS,
      'Content-Type: text/html; charset=utf-8',
      'Content-Transfer-Encoding: base64',
      '',
      body,
      '',
    ].join('\r\n'),
  );
}
