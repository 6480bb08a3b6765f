import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseMail } from '../../shared/mail/parseMail.js';
import { extractReply } from '../../shared/mail/replyText.js';
import { htmlToText } from '../../shared/mail/safeHtml.js';
import { cpuTimed } from '../support/cpuTime.js';
import { glpiCorpus } from '../support/fixtures.js';

const corpus = glpiCorpus;
const limits = {
  maxMessageBytes: 40_000_000,
  maxImageBytes: 10_000_000,
  maxImagesBytesPerMessage: 30_000_000,
};

const NL_SEPARATOR = '==== vul boven deze regel uw reactie ====';
const EN_SEPARATOR = '##-- Reply above this line --##';
const GLPI_HEADER_LINE = '=-=-=-= To answer by email, write above this line =-=-=-=';

interface Case {
  name: string;
  text?: string;
  html?: string;
  separator?: string;
  /** Exact expected reply text (text cases). */
  reply?: string;
  /** Must appear in the reply (text of the reply HTML for HTML cases). */
  keeps?: string[];
  /** Must not appear in the reply. */
  drops?: string[];
}

const textCases: Case[] = [
  {
    name: 'en: Gmail "On … wrote:" with > quote',
    text: 'Thanks, that fixed it.\n\nOn Mon, 1 Jan 2024 at 10:00, Helpdesk <hd@example.com> wrote:\n> Please restart.\n> Regards',
    reply: 'Thanks, that fixed it.',
  },
  {
    name: 'en: attribution wrapped over two lines',
    text: 'Works now.\n\nOn Mon, Jan 1, 2024 at 10:00 AM Helpdesk Support <\nhelpdesk@example.com> wrote:\n\n> old text',
    reply: 'Works now.',
  },
  {
    name: 'nl: "Op … schreef …:"',
    text: 'Bedankt!\n\nOp ma 1 jan. 2024 om 10:00 schreef Helpdesk <hd@example.com>:\n> oude tekst',
    reply: 'Bedankt!',
  },
  {
    name: 'nl: Apple Mail "heeft … het volgende geschreven:"',
    text: 'Dank je.\n\nOp 1 jan. 2024, om 10:00 heeft Helpdesk <hd@example.com> het volgende geschreven:\n\n> oud',
    reply: 'Dank je.',
  },
  {
    name: 'de: "Am … schrieb …:"',
    text: 'Danke.\n\nAm Mo., 1. Jan. 2024 um 10:00 Uhr schrieb Helpdesk <hd@example.com>:\n> alter Text',
    reply: 'Danke.',
  },
  {
    name: 'fr: "Le … a écrit :" with a no-break space',
    text: 'Merci.\n\nLe lun. 1 janv. 2024 à 10:00, Helpdesk <hd@example.com> a écrit\u00a0:\n> ancien texte',
    reply: 'Merci.',
  },
  {
    name: 'pl: "W dniu … pisze:"',
    text: 'Dziękuję.\n\nW dniu 1.01.2024 o 10:00, Helpdesk pisze:\n> stary tekst',
    reply: 'Dziękuję.',
  },
  {
    name: 'pl: "… napisał(a):"',
    text: 'Dziękuję bardzo.\n\npon., 1 sty 2024 o 10:00 Helpdesk <hd@example.com> napisał(a):\n> stary tekst',
    reply: 'Dziękuję bardzo.',
  },
  {
    name: 'es: "El … escribió:"',
    text: 'Gracias.\n\nEl lun, 1 ene 2024 a las 10:00, Helpdesk (<hd@example.com>) escribió:\n> texto viejo',
    reply: 'Gracias.',
  },
  {
    name: 'en: Outlook From/Sent/To/Subject block',
    text: 'Done, printer works.\n\nFrom: Helpdesk <hd@example.com>\nSent: Monday, January 1, 2024 10:00 AM\nTo: John <john@example.com>\nSubject: RE: [#123] Printer\n\nold text',
    reply: 'Done, printer works.',
  },
  {
    name: 'en: Outlook block after a line of underscores',
    text: 'Done.\n\n________________________________\nFrom: Helpdesk <hd@example.com>\nSent: Monday, January 1, 2024 10:00 AM\nTo: John <john@example.com>\nSubject: RE: [#123] Printer\n\nold',
    reply: 'Done.',
  },
  {
    name: 'nl: Van/Verzonden/Aan/Onderwerp',
    text: 'Opgelost.\n\nVan: Helpdesk <hd@example.com>\nVerzonden: maandag 1 januari 2024 10:00\nAan: Jan <jan@example.com>\nOnderwerp: RE: [#123] Printer\n\noud',
    reply: 'Opgelost.',
  },
  {
    name: 'de: Von/Gesendet/An/Betreff',
    text: 'Erledigt.\n\nVon: Helpdesk <hd@example.com>\nGesendet: Montag, 1. Januar 2024 10:00\nAn: Hans <hans@example.com>\nBetreff: AW: [#123] Drucker\n\nalt',
    reply: 'Erledigt.',
  },
  {
    name: 'pl: Od/Wysłano/Do/Temat',
    text: 'Załatwione.\n\nOd: Helpdesk <hd@example.com>\nWysłano: poniedziałek, 1 stycznia 2024 10:00\nDo: Jan <jan@example.com>\nTemat: Odp: [#123] Drukarka\n\nstary',
    reply: 'Załatwione.',
  },
  {
    name: 'fr: De :/Envoyé :/À :/Objet :',
    text: 'Réglé.\n\nDe : Helpdesk <hd@example.com>\nEnvoyé : lundi 1 janvier 2024 10:00\nÀ : Jean <jean@example.com>\nObjet : RE: [#123] Imprimante\n\nancien',
    reply: 'Réglé.',
  },
  {
    name: 'es: De:/Enviado:/Para:/Asunto:',
    text: 'Resuelto.\n\nDe: Helpdesk <hd@example.com>\nEnviado: lunes, 1 de enero de 2024 10:00\nPara: Juan <juan@example.com>\nAsunto: RE: [#123] Impresora\n\nviejo',
    reply: 'Resuelto.',
  },
  {
    name: 'en: -----Original Message-----',
    text: 'See attached.\n\n-----Original Message-----\nFrom: Helpdesk\nold',
    reply: 'See attached.',
  },
  {
    name: 'de: -----Ursprüngliche Nachricht-----',
    text: 'Gut.\n-----Ursprüngliche Nachricht-----\nalt',
    reply: 'Gut.',
  },
  {
    name: 'nl: -----Oorspronkelijk bericht-----',
    text: 'Goed.\n-----Oorspronkelijk bericht-----\noud',
    reply: 'Goed.',
  },
  {
    name: "fr: -----Message d'origine-----",
    text: "Bien.\n-----Message d'origine-----\nancien",
    reply: 'Bien.',
  },
  {
    name: 'es: -----Mensaje original-----',
    text: 'Bien.\n-----Mensaje original-----\nviejo',
    reply: 'Bien.',
  },
  {
    name: 'pl: -----Wiadomość oryginalna-----',
    text: 'Dobrze.\n-----Wiadomość oryginalna-----\nstary',
    reply: 'Dobrze.',
  },
  {
    name: 'Android: -------- Original message --------',
    text: 'Ok.\n\nSent from my phone\n\n-------- Original message --------\nFrom: Helpdesk\nold',
    reply: 'Ok.\n\nSent from my phone',
  },
  {
    name: 'trailing > quote without attribution',
    text: 'My answer.\n\n> quoted\n> more quoted\n',
    reply: 'My answer.',
  },
  {
    name: 'bottom-posted reply keeps the text after the quote',
    text: 'On 1 Jan 2024, Helpdesk <hd@example.com> wrote:\n> Question?\n> Details\n\nMy answer below the quote.\n',
    reply: 'My answer below the quote.',
  },
  {
    name: 'interleaved answers keep their quoted context',
    text: '> Question one?\nAnswer one.\n\n> Question two?\nAnswer two.',
    keeps: ['> Question one?', 'Answer one.', '> Question two?', 'Answer two.'],
  },
  { name: 'signature after "-- "', text: 'Answer.\n\n-- \nJohn Doe\nACME Corp', reply: 'Answer.' },
  {
    name: 'nl separator line',
    separator: NL_SEPARATOR,
    text: `Graag morgen.\n${NL_SEPARATOR}\nOude melding`,
    reply: 'Graag morgen.',
  },
  {
    name: 'separator wrapped by the client over two lines',
    separator: GLPI_HEADER_LINE,
    text: 'Reply.\n\n=-=-=-= To answer by email, write above\nthis line =-=-=-=\nold notification',
    reply: 'Reply.',
  },
  {
    name: 'separator quoted two levels deep',
    separator: EN_SEPARATOR,
    text: 'Reply.\n\n>> ##-- Reply above this line --##\n>> old notification',
    reply: 'Reply.',
  },
  {
    name: 'separator with = runs shortened and lengthened',
    separator: NL_SEPARATOR,
    text: 'Antwoord.\n== vul boven deze regel uw reactie ==========\noud',
    reply: 'Antwoord.',
  },
  {
    name: 'separator with case and white space changes',
    separator: EN_SEPARATOR,
    text: 'Answer.\n  ##--   REPLY Above   this LINE --##  \nold',
    reply: 'Answer.',
  },
  {
    name: 'separator words inside a sentence are not the separator',
    separator: 'Reply above this line',
    text: 'Please reply above this line next time, it helps us a lot.\nMore text.',
    reply: 'Please reply above this line next time, it helps us a lot.\nMore text.',
  },
  {
    name: 'forwarded message is content, not history',
    text: 'FYI, see below.\n\n---------- Forwarded message ---------\nFrom: Vendor <v@example.com>\nDate: Mon, 1 Jan 2024\nSubject: Invoice\nTo: John <john@example.com>\n\nInvoice text',
    keeps: ['FYI, see below.', 'Invoice text'],
  },
  {
    name: 'Outlook forward (Subject: FW:) is kept',
    text: 'Please handle.\n\nFrom: Vendor <v@example.com>\nSent: Monday, January 1, 2024 10:00 AM\nTo: John <john@example.com>\nSubject: FW: Invoice\n\nInvoice text',
    keeps: ['Please handle.', 'Invoice text'],
  },
  {
    name: 'nothing above the quote: empty reply, the quote in cut',
    text: 'On Mon, 1 Jan 2024, Helpdesk <hd@example.com> wrote:\n> old',
    reply: '',
  },
  {
    name: 'separator at the top: empty reply',
    separator: NL_SEPARATOR,
    text: `${NL_SEPARATOR}\nIk schrijf hieronder.`,
    reply: '',
  },
  {
    name: 'no history at all',
    text: 'Just a question.\nSecond line.',
    reply: 'Just a question.\nSecond line.',
  },
  {
    name: 'separator in a quote of a bottom-posted reply removes only that quote',
    separator: GLPI_HEADER_LINE,
    text: `Le 03/04/2019 à 10:33, admsys a écrit :\n> ${GLPI_HEADER_LINE}\n> notification\n\nMy answer.`,
    reply: 'My answer.',
  },
];

const htmlCases: Case[] = [
  {
    name: 'Gmail div.gmail_quote',
    html: '<div dir="ltr">Fixed, thanks.</div><br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">On Mon, Jan 1, 2024 at 10:00 AM Helpdesk &lt;hd@example.com&gt; wrote:<br></div><blockquote class="gmail_quote" style="margin:0px 0px 0px 0.8ex;border-left:1px solid rgb(204,204,204);padding-left:1ex">Old notification</blockquote></div>',
    keeps: ['Fixed, thanks.'],
    drops: ['Old notification', 'wrote:'],
  },
  {
    name: 'Gmail blockquote.gmail_quote without container',
    html: '<p>Ok</p><blockquote class="gmail_quote">Old text</blockquote>',
    keeps: ['Ok'],
    drops: ['Old text'],
  },
  {
    name: 'Outlook web: #appendonsend, hr and #divRplyFwdMsg',
    html: '<div>Done.</div><div id="appendonsend"></div><hr style="display:inline-block;width:98%" tabindex="-1"><div id="divRplyFwdMsg" dir="ltr"><font face="Calibri"><b>From:</b> Helpdesk<br><b>Sent:</b> Monday<br><b>To:</b> John<br><b>Subject:</b> RE: Printer</font></div><div>Old notification</div>',
    keeps: ['Done.'],
    drops: ['Old notification', 'From:'],
  },
  {
    name: 'Outlook desktop: border-top:solid #E1E1E1 header div',
    html: '<div class="WordSection1"><p class="MsoNormal">Solved.<o:p></o:p></p><div><div style="border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0cm 0cm 0cm"><p class="MsoNormal"><b>From:</b> Helpdesk &lt;hd@example.com&gt;<br><b>Sent:</b> Monday<br><b>To:</b> John<br><b>Subject:</b> RE: Printer</p></div></div><p class="MsoNormal">Old notification</p></div>',
    keeps: ['Solved.'],
    drops: ['Old notification', 'Subject:'],
  },
  {
    name: 'Outlook desktop nl (Van:, older #B5C4DF border)',
    html: '<p>Opgelost.</p><div style="border:none;border-top:solid #B5C4DF 1.0pt;padding:3.0pt 0cm 0cm 0cm"><p><b>Van:</b> Helpdesk<br><b>Verzonden:</b> maandag<br><b>Aan:</b> Jan<br><b>Onderwerp:</b> RE: Printer</p></div><p>Oude melding</p>',
    keeps: ['Opgelost.'],
    drops: ['Oude melding'],
  },
  {
    name: 'Apple Mail blockquote type="cite"',
    html: '<div>Thanks!</div><div><br><blockquote type="cite"><div>On 1 Jan 2024, at 10:00, Helpdesk &lt;hd@example.com&gt; wrote:</div><br><div>Old notification</div></blockquote></div>',
    keeps: ['Thanks!'],
    drops: ['Old notification'],
  },
  {
    name: 'Thunderbird top-post: moz-cite-prefix and blockquote',
    html: '<p>Top answer.</p><div class="moz-cite-prefix">Am 01.01.24 um 10:00 schrieb Helpdesk:<br></div><blockquote type="cite" cite="mid:x@y">Old notification</blockquote>',
    keeps: ['Top answer.'],
    drops: ['Old notification', 'schrieb'],
  },
  {
    name: 'Thunderbird bottom-post keeps the answer after the quote',
    html: '<div class="moz-cite-prefix">On 01/01/2024 10:00, Helpdesk wrote:<br></div><blockquote type="cite">Old notification</blockquote><p>Bottom answer.</p>',
    keeps: ['Bottom answer.'],
    drops: ['Old notification', 'wrote:'],
  },
  {
    name: 'Yahoo yahoo_quoted',
    html: '<div>Yes.</div><div id="yahoo_quoted_123" class="yahoo_quoted"><div>On Monday, Helpdesk wrote:</div><div>Old notification</div></div>',
    keeps: ['Yes.'],
    drops: ['Old notification'],
  },
  {
    name: 'Proton protonmail_quote',
    html: '<p>Sure.</p><div class="protonmail_quote">-------- Original Message --------<blockquote class="protonmail_quote">Old notification</blockquote></div>',
    keeps: ['Sure.'],
    drops: ['Old notification'],
  },
  {
    name: 'separator split by tags and &nbsp;',
    separator: NL_SEPARATOR,
    html: '<p>Prima.</p><p><span>====</span>&nbsp;<b>vul</b> boven deze <i>regel</i>&nbsp;uw reactie ====</p><p>Oude melding</p>',
    keeps: ['Prima.'],
    drops: ['Oude melding', 'vul boven'],
  },
  {
    name: 'separator wrapped with <br> in HTML',
    separator: GLPI_HEADER_LINE,
    html: '<div>Answer.<br>=-=-=-= To answer by email, write above<br>this line =-=-=-=<br>Old notification</div>',
    keeps: ['Answer.'],
    drops: ['Old notification'],
  },
  {
    name: 'Gmail forward container is kept',
    html: '<div>FYI</div><div class="gmail_quote"><div class="gmail_attr">---------- Forwarded message ---------<br>From: Vendor</div><div>Invoice text</div></div>',
    keeps: ['FYI', 'Invoice text'],
  },
  {
    name: 'Outlook forward (FW:) is kept',
    html: '<div>Please handle.</div><hr><div id="divRplyFwdMsg"><b>From:</b> Vendor<br><b>Sent:</b> Monday<br><b>To:</b> John<br><b>Subject:</b> FW: Invoice</div><div>Invoice text</div>',
    keeps: ['Please handle.', 'Invoice text'],
  },
  {
    name: 'generic "On … wrote:" before a blockquote',
    html: '<p>New text.</p><p>On Mon, 1 Jan 2024 10:00, Helpdesk &lt;hd@example.com&gt; wrote:</p><blockquote style="border-left:2px solid #1010FF">Old notification</blockquote>',
    keeps: ['New text.'],
    drops: ['Old notification', 'wrote:'],
  },
  {
    name: 'Zimbra hr#zwchr',
    html: '<div>Noted.</div><hr id="zwchr"><div><b>From: </b>Helpdesk<br><b>Sent: </b>Monday</div><div>Old notification</div>',
    keeps: ['Noted.'],
    drops: ['Old notification'],
  },
];

describe('extractReply: plain text', () => {
  it.each(textCases)('$name', (testCase) => {
    const result = extractReply({
      text: testCase.text ?? '',
      html: null,
      separator: testCase.separator ?? '',
    });
    if (testCase.reply !== undefined) expect(result.replyText).toBe(testCase.reply);
    for (const kept of testCase.keeps ?? []) expect(result.replyText).toContain(kept);
    expect(result.replyHtml).toBeNull();
    // Whatever was removed is handed back, so nothing is lost.
    if (result.replyText !== (testCase.text ?? '').trim()) expect(result.cut).not.toBeNull();
  });

  it('reports cut as null when nothing was removed', () => {
    expect(extractReply({ text: 'Hello\n', html: null, separator: NL_SEPARATOR }).cut).toBeNull();
  });

  it('keeps what was removed in cut', () => {
    const result = extractReply({
      text: `Top.\n${NL_SEPARATOR}\nold part`,
      html: null,
      separator: NL_SEPARATOR,
    });
    expect(result.cut).toContain('old part');
  });
});

describe('extractReply: HTML', () => {
  it.each(htmlCases)('$name', (testCase) => {
    const result = extractReply({ text: '', html: testCase.html ?? '', separator: testCase.separator ?? '' });
    const visible = htmlToText(result.replyHtml ?? '');
    for (const kept of testCase.keeps ?? []) expect(visible).toContain(kept);
    for (const dropped of testCase.drops ?? []) expect(visible).not.toContain(dropped);
  });

  it('keeps text and HTML apart: null HTML stays null', () => {
    expect(extractReply({ text: 'x', html: null, separator: '' }).replyHtml).toBeNull();
  });
});

describe('extractReply: hostile input', () => {
  it('stays fast on huge texts and falls back to the text for absurdly deep HTML', () => {
    const { result: deep, ms } = cpuTimed(() => {
      extractReply({ text: `a${' '.repeat(2_000_000)}b`, html: null, separator: EN_SEPARATOR });
      extractReply({ text: '> line\n'.repeat(200_000), html: null, separator: EN_SEPARATOR });
      extractReply({ text: '-'.repeat(2_000_000), html: null, separator: '' });
      return extractReply({ text: 'Reply\n\n> old', html: '<div>'.repeat(300_000), separator: '' });
    });
    expect(ms).toBeLessThan(5000);
    expect(deep.replyHtml).toBe('<p>Reply</p>');
  });
});

describe('extractReply: corpus follow-ups', () => {
  const reply = async (file: string, separator = GLPI_HEADER_LINE) => {
    const mail = await parseMail(readFileSync(path.join(corpus, file)), limits);
    return { mail, result: extractReply({ text: mail.text, html: mail.html, separator }) };
  };

  it('04: Thunderbird bottom-post under a quoted GLPI notification', async () => {
    const { result } = await reply('04-ticket-followup.eml');
    expect(result.replyText).toBe(
      'You can force the migration again using the --force flag from the CLI:\n$ bin/console db:update --force\n\nCheers.',
    );
    expect(result.cut).toContain('Automatically generated by GLPI');
  });

  it.each([
    [
      '04.1-ticket-followup-from-inreplyto.eml',
      'This is a reply that references Ticket 100 in In-Reply-To header.',
    ],
    [
      '04.1-ticket-followup-from-oldformat-inreplyto.eml',
      'This is a reply that references Ticket 100 in In-Reply-To header (old format).',
    ],
    [
      '04.2-ticket-followup-from-oldformat-references.eml',
      'This is a reply that references Ticket 100 in References header (old format).',
    ],
    [
      '04.2-ticket-followup-from-references.eml',
      'This is a reply that references Ticket 100 in References header.',
    ],
    ['04.3-ticket-followup-from-subject.eml', 'This is a reply that references Ticket 101 in its subject.'],
    [
      '04.4-ticket-followup-from-newformat-inreplyto.eml',
      'This is a reply that references Ticket 100 in In-Reply-To header (new format).',
    ],
    [
      '04.5-ticket-followup-from-newformat-references.eml',
      'This is a reply that references Ticket 100 in References header (new format).',
    ],
  ])('%s: the whole text is the reply', async (file, firstLine) => {
    const { result } = await reply(file);
    expect(result.replyText).toBe(`${firstLine}\nIt should be added as followup.`);
    expect(result.cut).toBeNull();
  });

  it('29.1: above the header line is kept; the text under the footer line is only in cut', async () => {
    const { result } = await reply('29.1-ticket-followup-above-header-and-under-footer-lines.eml');
    expect(result.replyText).toBe('My followup starts above header line...');
    expect(result.cut).toContain('...and finishes under footer line.');
  });

  it('29.2: reply above the header line', async () => {
    const { result } = await reply('29.2-ticket-followup-above-header-line.eml');
    expect(result.replyText).toBe('My followup is located above header line.');
    expect(result.cut).toContain('HERE IS THE INITIAL NOTIFICATION CONTENT');
  });

  it('29.3: written under the footer line only: empty reply, everything in cut', async () => {
    const { result } = await reply('29.3-ticket-followup-under-footer-line.eml');
    expect(result.replyText).toBe('');
    expect(result.cut).toContain('My followup is located under footer line.');
  });

  it('29.4: reply above the header line, no footer line', async () => {
    const { result } = await reply('29.4-ticket-followup-above-header-line-without-footer-line.eml');
    expect(result.replyText).toBe('My followup is located above header line, and there is no footer line.');
    expect(result.cut).toContain('What is written here will not be preserved.');
  });

  it('29.5: no header line: nothing recognisable to cut, the whole text stays', async () => {
    const { mail, result } = await reply('29.5-ticket-followup-under-footer-line-without-header-line.eml');
    expect(result.replyText).toBe(mail.text.trim());
    expect(result.replyText).toContain(
      'My followup is located under footer line, and there is no header line.',
    );
    expect(result.cut).toBeNull();
  });

  it('29.6: written under the header line: empty reply, the text stays available in cut', async () => {
    const { result } = await reply('29.6-ticket-followup-under-header-line-without-footer-line.eml');
    expect(result.replyText).toBe('');
    expect(result.cut).toContain('My followup starts under header line...');
  });

  it('29.7: no header line: the whole text stays', async () => {
    const { result } = await reply('29.7-ticket-followup-above-footer-line-without-header-line.eml');
    expect(result.replyText).toContain('My followup starts above footer line...');
    expect(result.cut).toBeNull();
  });

  it('46: Proton Android reply (HTML only)', async () => {
    const { result } = await reply(
      '46-proton-android-mail-response.eml',
      '=-=-=-= To reply by email, write above this line =-=-=-=',
    );
    expect(result.replyText).toBe('Reply from Proton Android client\n\nSent from Proton Mail for Android');
    const visible = htmlToText(result.replyHtml ?? '');
    expect(visible).toContain('Reply from Proton Android client');
    expect(visible).not.toContain('Automatically generated by GLPI');
    expect(visible).not.toContain('Original message');
  });

  it('51: supplier reply without history', async () => {
    const { result } = await reply('51-supplier-reply.eml');
    expect(result.replyText).toBe(
      'This is a reply from the assigned supplier.\nThe supplier should be able to add a followup to this ticket.',
    );
    expect(result.cut).toBeNull();
  });

  it('27-empty: French Outlook reply above "De : / Envoyé :" in text and in HTML', async () => {
    const { result } = await reply('27-empty.eml');
    expect(result.replyText.startsWith('Bonjour Stephan')).toBe(true);
    expect(result.replyText).toContain('Le message est OUT OF MEMORY.');
    expect(result.replyText).not.toContain('Envoyé');
    expect(result.replyText).not.toContain('To answer by email');
    const visible = htmlToText(result.replyHtml ?? '');
    expect(visible).toContain('Le message est OUT OF MEMORY.');
    expect(visible).not.toContain('Automatically generated by GLPI');
    expect(visible).not.toContain('Envoyé');
  });
});
