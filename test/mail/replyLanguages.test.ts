import { describe, expect, it } from 'vitest';
import { extractReply } from '../../shared/mail/replyText.js';
import { htmlToText } from '../../shared/mail/safeHtml.js';
import { cpuMs } from '../support/cpuTime.js';

/**
 * Replies from clients in many languages, written from each client's known format. Each row is a whole
 * mail: the writer's reply on top, then the client's header and the quoted notification.
 */
interface Row {
  language: string;
  client: string;
  text: string;
  reply: string;
}

const OLD = 'Old notification text';

/** An Outlook desktop/Windows Mail header block with the labels given, in the order given. */
function block(labels: string[], separatorLine = true): string {
  const values = [
    'Helpdesk <hd@example.com>',
    '01.01.2024 10:00',
    'John <john@example.com>',
    'RE: [#123] Printer',
  ];
  const lines = labels.map((label, i) => `${label} ${values[i % values.length]}`);
  return `${separatorLine ? '________________________________\n' : ''}${lines.join('\n')}\n\n${OLD}`;
}

const textRows: Row[] = [
  // Russian
  {
    language: 'ru',
    client: 'Outlook 365 desktop',
    text: `Спасибо, работает.\n\n${block(['От:', 'Отправлено:', 'Кому:', 'Тема:'])}`,
    reply: 'Спасибо, работает.',
  },
  {
    language: 'ru',
    client: 'Windows 10 Mail (no separator line)',
    text: `Готово.\n\nОтправлено из Почты для Windows\n\n${block(['От:', 'Отправлено:', 'Кому:', 'Тема:'], false)}`,
    reply: 'Готово.\n\nОтправлено из Почты для Windows',
  },
  {
    language: 'ru',
    client: 'Outlook for Android',
    text: `Да, проверил.\n\nВ пн, 1 янв. 2024 г. в 10:00 пользователь Helpdesk <hd@example.com> написал:\n\n> ${OLD}`,
    reply: 'Да, проверил.',
  },
  {
    language: 'ru',
    client: 'Gmail web',
    text: `Принтер снова печатает.\n\nпн, 1 янв. 2024 г. в 10:00, Helpdesk <hd@example.com>:\n\n> ${OLD}`,
    reply: 'Принтер снова печатает.',
  },
  {
    language: 'ru',
    client: 'Mail.ru',
    text: `Хорошо.\n\nПонедельник, 1 января 2024, 10:00 +03:00 от Helpdesk <hd@example.com>:\n${OLD}`,
    reply: 'Хорошо.',
  },
  {
    language: 'ru',
    client: 'Thunderbird 115',
    text: `Понял.\n\n01.01.2024 10:00, Helpdesk пишет:\n> ${OLD}`,
    reply: 'Понял.',
  },
  {
    language: 'ru',
    client: 'Apple Mail 16',
    text: `Ок.\n\n> 1 янв. 2024 г., в 10:00, Helpdesk <hd@example.com> написал(а):\n>\n> ${OLD}`,
    reply: 'Ок.',
  },
  {
    language: 'ru',
    client: 'Samsung Email',
    text: `Всё ок.\n\n-------- Исходное сообщение --------\nОт: Helpdesk <hd@example.com>\nДата: 01.01.2024 10:00 (GMT+03:00)\nКому: John\nТема: [#123] Принтер\n\n${OLD}`,
    reply: 'Всё ок.',
  },
  {
    language: 'ru',
    client: 'Gmail Android, attribution wrapped over two lines',
    text: `Работает.\n\nпн, 1 янв. 2024 г. в 10:00, Helpdesk Support <\nhd@example.com>:\n\n> ${OLD}`,
    reply: 'Работает.',
  },
  // Ukrainian
  {
    language: 'uk',
    client: 'Outlook 365 desktop',
    text: `Дякую.\n\n${block(['Від:', 'Надіслано:', 'Кому:', 'Тема:'])}`,
    reply: 'Дякую.',
  },
  {
    language: 'uk',
    client: 'Gmail web',
    text: `Все працює.\n\nпн, 1 січ. 2024 р. о 10:00 Helpdesk <hd@example.com> пише:\n\n> ${OLD}`,
    reply: 'Все працює.',
  },
  {
    language: 'uk',
    client: 'Apple Mail 16',
    text: `Так.\n\n1 січ. 2024 р. о 10:00 Helpdesk <hd@example.com> написав(ла):\n\n> ${OLD}`,
    reply: 'Так.',
  },
  // Italian
  {
    language: 'it',
    client: 'Outlook 365 desktop',
    text: `Risolto, grazie.\n\n${block(['Da:', 'Inviato:', 'A:', 'Oggetto:'])}`,
    reply: 'Risolto, grazie.',
  },
  {
    language: 'it',
    client: 'Gmail web',
    text: `Perfetto.\n\nIl giorno lun 1 gen 2024 alle ore 10:00 Helpdesk <hd@example.com> ha scritto:\n\n> ${OLD}`,
    reply: 'Perfetto.',
  },
  {
    language: 'it',
    client: 'Outlook',
    text: `Va bene.\n\n-----Messaggio originale-----\nDa: Helpdesk\n${OLD}`,
    reply: 'Va bene.',
  },
  // Portuguese
  {
    language: 'pt-BR',
    client: 'Gmail web',
    text: `Obrigado.\n\nEm seg., 1 de jan. de 2024 às 10:00, Helpdesk <hd@example.com> escreveu:\n\n> ${OLD}`,
    reply: 'Obrigado.',
  },
  {
    language: 'pt-BR',
    client: 'Outlook 365 desktop',
    text: `Resolvido.\n\n${block(['De:', 'Enviado:', 'Para:', 'Assunto:'])}`,
    reply: 'Resolvido.',
  },
  {
    language: 'pt-PT',
    client: 'Gmail web',
    text: `Obrigada.\n\nNo dia seg., 1/01/2024 às 10:00, Helpdesk <hd@example.com> escreveu:\n\n> ${OLD}`,
    reply: 'Obrigada.',
  },
  {
    language: 'pt-PT',
    client: 'Apple Mail 16',
    text: `Está feito.\n\nA 1 de jan. de 2024, às 10:00, Helpdesk <hd@example.com> escreveu:\n\n> ${OLD}`,
    reply: 'Está feito.',
  },
  {
    language: 'pt-PT',
    client: 'Outlook for Android (Data:)',
    text: `Certo.\n\n${block(['De:', 'Data:', 'Para:', 'Assunto:'], false)}`,
    reply: 'Certo.',
  },
  // Scandinavian and Finnish
  {
    language: 'sv',
    client: 'Gmail web',
    text: `Tack!\n\nDen mån 1 jan. 2024 kl 10:00 skrev Helpdesk <hd@example.com>:\n\n> ${OLD}`,
    reply: 'Tack!',
  },
  {
    language: 'sv',
    client: 'Outlook 365 desktop',
    text: `Löst.\n\n${block(['Från:', 'Skickat:', 'Till:', 'Ämne:'])}`,
    reply: 'Löst.',
  },
  {
    language: 'sv',
    client: 'Apple Mail 16',
    text: `Klart.\n\n1 jan. 2024 kl. 10:00 skrev Helpdesk <hd@example.com>:\n\n> ${OLD}`,
    reply: 'Klart.',
  },
  {
    language: 'da',
    client: 'Gmail web',
    text: `Tak.\n\nDen man. 1. jan. 2024 kl. 10.00 skrev Helpdesk <hd@example.com>:\n\n> ${OLD}`,
    reply: 'Tak.',
  },
  {
    language: 'da',
    client: 'Outlook 365 desktop',
    text: `Løst.\n\n${block(['Fra:', 'Sendt:', 'Til:', 'Emne:'])}`,
    reply: 'Løst.',
  },
  {
    language: 'nb',
    client: 'Gmail web',
    text: `Takk.\n\nman. 1. jan. 2024 kl. 10:00 skrev Helpdesk <hd@example.com>:\n\n> ${OLD}`,
    reply: 'Takk.',
  },
  {
    language: 'nb',
    client: 'Outlook',
    text: `Ordnet.\n\n-----Opprinnelig melding-----\nFra: Helpdesk\n${OLD}`,
    reply: 'Ordnet.',
  },
  {
    language: 'fi',
    client: 'Gmail web',
    text: `Kiitos.\n\nma 1.1.2024 klo 10.00 Helpdesk <hd@example.com> kirjoitti:\n\n> ${OLD}`,
    reply: 'Kiitos.',
  },
  {
    language: 'fi',
    client: 'Outlook 365 desktop',
    text: `Korjattu.\n\n${block(['Lähettäjä:', 'Lähetetty:', 'Vastaanottaja:', 'Aihe:'])}`,
    reply: 'Korjattu.',
  },
  // Central and Eastern Europe
  {
    language: 'cs',
    client: 'Gmail web',
    text: `Díky.\n\npo 1. 1. 2024 v 10:00 odesílatel Helpdesk <hd@example.com> napsal:\n\n> ${OLD}`,
    reply: 'Díky.',
  },
  {
    language: 'cs',
    client: 'Outlook 365 desktop',
    text: `Vyřešeno.\n\n${block(['Od:', 'Odesláno:', 'Komu:', 'Předmět:'])}`,
    reply: 'Vyřešeno.',
  },
  {
    language: 'sk',
    client: 'Gmail web',
    text: `Ďakujem.\n\npo 1. 1. 2024 o 10:00 Helpdesk <hd@example.com> napísal(a):\n\n> ${OLD}`,
    reply: 'Ďakujem.',
  },
  {
    language: 'sk',
    client: 'Outlook 365 desktop',
    text: `Hotovo.\n\n${block(['Od:', 'Odoslané:', 'Komu:', 'Predmet:'])}`,
    reply: 'Hotovo.',
  },
  {
    language: 'hu',
    client: 'Gmail web',
    text: `Köszönöm.\n\nHelpdesk <hd@example.com> ezt írta (időpont: 2024. jan. 1., H, 10:00):\n\n> ${OLD}`,
    reply: 'Köszönöm.',
  },
  {
    language: 'hu',
    client: 'Outlook 365 desktop',
    text: `Megoldva.\n\n${block(['Feladó:', 'Elküldve:', 'Címzett:', 'Tárgy:'])}`,
    reply: 'Megoldva.',
  },
  {
    language: 'ro',
    client: 'Gmail web',
    text: `Mulțumesc.\n\nÎn lun., 1 ian. 2024 la 10:00, Helpdesk <hd@example.com> a scris:\n\n> ${OLD}`,
    reply: 'Mulțumesc.',
  },
  {
    language: 'ro',
    client: 'Outlook 365 desktop',
    text: `Rezolvat.\n\n${block(['De la:', 'Trimis:', 'Către:', 'Subiect:'])}`,
    reply: 'Rezolvat.',
  },
  {
    language: 'tr',
    client: 'Gmail web',
    text: `Teşekkürler.\n\nHelpdesk <hd@example.com>, 1 Oca 2024 Pzt, 10:00 tarihinde şunu yazdı:\n\n> ${OLD}`,
    reply: 'Teşekkürler.',
  },
  {
    language: 'tr',
    client: 'Outlook 365 desktop',
    text: `Çözüldü.\n\n${block(['Kimden:', 'Gönderildi:', 'Kime:', 'Konu:'])}`,
    reply: 'Çözüldü.',
  },
  {
    language: 'el',
    client: 'Gmail web',
    text: `Ευχαριστώ.\n\nΣτις Δευ 1 Ιαν 2024 στις 10:00, ο/η Helpdesk <hd@example.com> έγραψε:\n\n> ${OLD}`,
    reply: 'Ευχαριστώ.',
  },
  {
    language: 'el',
    client: 'Outlook 365 desktop',
    text: `Λύθηκε.\n\n${block(['Από:', 'Στάλθηκε:', 'Προς:', 'Θέμα:'])}`,
    reply: 'Λύθηκε.',
  },
  // East Asia
  {
    language: 'ja',
    client: 'Outlook 365 desktop',
    text: `ありがとうございます。\n\n${block(['差出人:', '送信日時:', '宛先:', '件名:'])}`,
    reply: 'ありがとうございます。',
  },
  {
    language: 'ja',
    client: 'Gmail web',
    text: `直りました。\n\n2024年1月1日(月) 10:00 Helpdesk <hd@example.com>:\n\n> ${OLD}`,
    reply: '直りました。',
  },
  {
    language: 'ja',
    client: 'Apple Mail 16',
    text: `了解です。\n\n2024/01/01 10:00、Helpdesk <hd@example.com>のメール:\n\n> ${OLD}`,
    reply: '了解です。',
  },
  {
    language: 'zh-Hans',
    client: 'Gmail web (full-width colon)',
    text: `谢谢。\n\nHelpdesk <hd@example.com> 于2024年1月1日周一 10:00写道：\n\n> ${OLD}`,
    reply: '谢谢。',
  },
  {
    language: 'zh-Hans',
    client: 'QQ Mail',
    text: `已解决。\n\n------------------ 原始邮件 ------------------\n发件人: "Helpdesk"<hd@example.com>;\n发送时间: 2024年1月1日(星期一) 上午10:00\n收件人: "John"<john@example.com>;\n主题: 回复: [#123] 打印机\n\n${OLD}`,
    reply: '已解决。',
  },
  {
    language: 'zh-Hans',
    client: 'Outlook 365 desktop',
    text: `好的。\n\n${block(['发件人:', '发送时间:', '收件人:', '主题:'])}`,
    reply: '好的。',
  },
  {
    language: 'zh-Hans',
    client: 'Gmail Android, wrapped after the date',
    text: `可以了。\n\nHelpdesk <hd@example.com> 于2024年1月1日周一\n10:00写道：\n\n> ${OLD}`,
    reply: '可以了。',
  },
  {
    language: 'zh-Hant',
    client: 'Gmail web',
    text: `謝謝。\n\nHelpdesk <hd@example.com> 於 2024年1月1日 週一 上午10:00寫道：\n\n> ${OLD}`,
    reply: '謝謝。',
  },
  {
    language: 'zh-Hant',
    client: 'Outlook 365 desktop',
    text: `已處理。\n\n${block(['寄件者:', '寄件日期:', '收件者:', '主旨:'])}`,
    reply: '已處理。',
  },
  {
    language: 'ko',
    client: 'Gmail web',
    text: `감사합니다.\n\n2024년 1월 1일 (월) 오전 10:00, Helpdesk <hd@example.com>님이 작성:\n\n> ${OLD}`,
    reply: '감사합니다.',
  },
  {
    language: 'ko',
    client: 'Outlook 365 desktop',
    text: `해결되었습니다.\n\n${block(['보낸 사람:', '보낸 날짜:', '받는 사람:', '제목:'])}`,
    reply: '해결되었습니다.',
  },
  // Outlook.com / Hotmail and any order of header lines
  {
    language: 'en',
    client: 'Outlook.com/Hotmail (Date/Subject/From/To)',
    text: `Thanks.\n\nDate: Mon, 1 Jan 2024 10:00:00 +0000\nSubject: RE: [#123] Printer\nFrom: hd@example.com\nTo: john@hotmail.com\n\n${OLD}`,
    reply: 'Thanks.',
  },
  {
    language: 'en',
    client: 'Outlook.com/Hotmail after a separator line',
    text: `Thanks.\n\n________________________________\n${['Date: Mon, 1 Jan 2024 10:00:00 +0000', 'From: hd@example.com', 'To: john@hotmail.com', 'Subject: RE: [#123] Printer'].join('\n')}\n\n${OLD}`,
    reply: 'Thanks.',
  },
  {
    language: 'de',
    client: 'Outlook.com de (Datum/Betreff/Von/An)',
    text: `Danke.\n\n${block(['Datum:', 'Betreff:', 'Von:', 'An:'], false)}`,
    reply: 'Danke.',
  },
  {
    language: 'en',
    client: 'Outlook for Mac 16 (From/Date/To/Subject)',
    text: `Done.\n\n${block(['From:', 'Date:', 'To:', 'Subject:'], false)}`,
    reply: 'Done.',
  },
  {
    language: 'en',
    client: 'iOS Mail, attribution wrapped after the name',
    text: `Works.\n\nOn 1 Jan 2024, at 10:00, Helpdesk Support\n<hd@example.com> wrote:\n\n> ${OLD}`,
    reply: 'Works.',
  },
];

/** Mails that only look like history in places, and forwards, which are content: all of them stays. */
const keptRows: Row[] = [
  {
    language: 'ru',
    client: 'prose ending in "написал:"',
    text: 'Вот что он написал:\nпринтер не печатает.',
    reply: 'Вот что он написал:\nпринтер не печатает.',
  },
  {
    language: 'it',
    client: 'Outlook forward (I:)',
    text: `Da gestire.\n\n${block(['Da:', 'Inviato:', 'A:', 'Oggetto:'], false).replace('RE: [#123] Printer', 'I: Fattura')}`,
    reply: `Da gestire.\n\n${block(['Da:', 'Inviato:', 'A:', 'Oggetto:'], false).replace('RE: [#123] Printer', 'I: Fattura')}`,
  },
  {
    language: 'pt-BR',
    client: 'Outlook forward (ENC:)',
    text: `Segue.\n\n${block(['De:', 'Enviado:', 'Para:', 'Assunto:'], false).replace('RE: [#123] Printer', 'ENC: Fatura')}`,
    reply: `Segue.\n\n${block(['De:', 'Enviado:', 'Para:', 'Assunto:'], false).replace('RE: [#123] Printer', 'ENC: Fatura')}`,
  },
  {
    language: 'ru',
    client: 'Gmail forward',
    text: `Смотрите ниже.\n\n---------- Пересылаемое сообщение ---------\nОт: Vendor <v@example.com>\nDate: пн, 1 янв. 2024 г.\nSubject: Счёт\n\nТекст счёта`,
    reply: `Смотрите ниже.\n\n---------- Пересылаемое сообщение ---------\nОт: Vendor <v@example.com>\nDate: пн, 1 янв. 2024 г.\nSubject: Счёт\n\nТекст счёта`,
  },
  {
    language: 'en',
    client: 'two labels only are not a header block',
    text: 'From: the warehouse\nDate: tomorrow\n\nPlease send the toner.',
    reply: 'From: the warehouse\nDate: tomorrow\n\nPlease send the toner.',
  },
];

interface HtmlRow {
  language: string;
  client: string;
  html: string;
  keeps: string;
}

/** Outlook desktop's HTML header: the border-top div with bold labels. */
function outlookHtml(reply: string, labels: string[]): string {
  const values = ['Helpdesk &lt;hd@example.com&gt;', '1 January 2024 10:00', 'John', 'RE: [#123] Printer'];
  const header = labels.map((label, i) => `<b>${label}</b> ${values[i]}`).join('<br>');
  return `<div class="WordSection1"><p class="MsoNormal">${reply}<o:p></o:p></p><div><div style="border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0cm 0cm 0cm"><p class="MsoNormal">${header}</p></div></div><p class="MsoNormal">${OLD}</p></div>`;
}

/** Outlook on the web / Outlook.com: #divRplyFwdMsg after an hr, or plain paragraphs of labels. */
function owaHtml(reply: string, labels: string[]): string {
  const values = ['Helpdesk &lt;hd@example.com&gt;', '1 January 2024 10:00', 'John', 'RE: [#123] Printer'];
  return `<div>${reply}</div><div id="appendonsend"></div><hr tabindex="-1"><div id="divRplyFwdMsg" dir="ltr"><font face="Calibri">${labels.map((label, i) => `<b>${label}</b> ${values[i]}`).join('<br>')}</font></div><div>${OLD}</div>`;
}

/** A client that writes its attribution as a paragraph above a bordered blockquote. */
function quotedHtml(reply: string, attribution: string): string {
  return `<div dir="ltr">${reply}</div><br><div><div dir="ltr">${attribution}<br></div><blockquote style="margin:0px 0px 0px 0.8ex;border-left:1px solid rgb(204,204,204);padding-left:1ex">${OLD}</blockquote></div>`;
}

const htmlRows: HtmlRow[] = [
  {
    language: 'ru',
    client: 'Outlook 365 desktop',
    html: outlookHtml('Спасибо.', ['От:', 'Отправлено:', 'Кому:', 'Тема:']),
    keeps: 'Спасибо.',
  },
  {
    language: 'ru',
    client: 'Windows Mail (paragraphs, no border)',
    html: `<div>Готово.</div><div><br></div><div style="padding-top: 5px; border-top-color: rgb(229, 229, 229); border-top-width: 1px; border-top-style: solid;"><div><b>От: </b>Helpdesk</div><div><b>Отправлено: </b>1 января 2024 г. 10:00</div><div><b>Кому: </b>John</div><div><b>Тема: </b>RE: [#123]</div></div><div>${OLD}</div>`,
    keeps: 'Готово.',
  },
  {
    language: 'ru',
    client: 'Outlook for Android',
    html: quotedHtml(
      'Да.',
      'В пн, 1 янв. 2024 г. в 10:00 пользователь Helpdesk &lt;hd@example.com&gt; написал:',
    ),
    keeps: 'Да.',
  },
  {
    language: 'uk',
    client: 'Outlook 365 desktop',
    html: outlookHtml('Дякую.', ['Від:', 'Надіслано:', 'Кому:', 'Тема:']),
    keeps: 'Дякую.',
  },
  {
    language: 'it',
    client: 'Outlook on the web',
    html: owaHtml('Grazie.', ['Da:', 'Inviato:', 'A:', 'Oggetto:']),
    keeps: 'Grazie.',
  },
  {
    language: 'pt-BR',
    client: 'Gmail web',
    html: quotedHtml(
      'Obrigado.',
      'Em seg., 1 de jan. de 2024 às 10:00, Helpdesk &lt;hd@example.com&gt; escreveu:',
    ),
    keeps: 'Obrigado.',
  },
  {
    language: 'pt-PT',
    client: 'Outlook 365 desktop',
    html: outlookHtml('Obrigada.', ['De:', 'Enviado:', 'Para:', 'Assunto:']),
    keeps: 'Obrigada.',
  },
  {
    language: 'sv',
    client: 'Outlook 365 desktop',
    html: outlookHtml('Tack.', ['Från:', 'Skickat:', 'Till:', 'Ämne:']),
    keeps: 'Tack.',
  },
  {
    language: 'da',
    client: 'Outlook on the web',
    html: owaHtml('Tak.', ['Fra:', 'Sendt:', 'Til:', 'Emne:']),
    keeps: 'Tak.',
  },
  {
    language: 'nb',
    client: 'Outlook 365 desktop',
    html: outlookHtml('Takk.', ['Fra:', 'Sendt:', 'Til:', 'Emne:']),
    keeps: 'Takk.',
  },
  {
    language: 'fi',
    client: 'Outlook 365 desktop',
    html: outlookHtml('Kiitos.', ['Lähettäjä:', 'Lähetetty:', 'Vastaanottaja:', 'Aihe:']),
    keeps: 'Kiitos.',
  },
  {
    language: 'cs',
    client: 'Outlook 365 desktop',
    html: outlookHtml('Díky.', ['Od:', 'Odesláno:', 'Komu:', 'Předmět:']),
    keeps: 'Díky.',
  },
  {
    language: 'sk',
    client: 'Outlook 365 desktop',
    html: outlookHtml('Ďakujem.', ['Od:', 'Odoslané:', 'Komu:', 'Predmet:']),
    keeps: 'Ďakujem.',
  },
  {
    language: 'hu',
    client: 'Gmail web',
    html: quotedHtml(
      'Köszönöm.',
      'Helpdesk &lt;hd@example.com&gt; ezt írta (időpont: 2024. jan. 1., H, 10:00):',
    ),
    keeps: 'Köszönöm.',
  },
  {
    language: 'ro',
    client: 'Outlook 365 desktop',
    html: outlookHtml('Mulțumesc.', ['De la:', 'Trimis:', 'Către:', 'Subiect:']),
    keeps: 'Mulțumesc.',
  },
  {
    language: 'tr',
    client: 'Outlook 365 desktop',
    html: outlookHtml('Teşekkürler.', ['Kimden:', 'Gönderildi:', 'Kime:', 'Konu:']),
    keeps: 'Teşekkürler.',
  },
  {
    language: 'el',
    client: 'Outlook 365 desktop',
    html: outlookHtml('Ευχαριστώ.', ['Από:', 'Στάλθηκε:', 'Προς:', 'Θέμα:']),
    keeps: 'Ευχαριστώ.',
  },
  {
    language: 'ja',
    client: 'Outlook 365 desktop',
    html: outlookHtml('ありがとうございます。', ['差出人:', '送信日時:', '宛先:', '件名:']),
    keeps: 'ありがとうございます。',
  },
  {
    language: 'zh-Hans',
    client: 'Outlook 365 desktop',
    html: outlookHtml('谢谢。', ['发件人:', '发送时间:', '收件人:', '主题:']),
    keeps: '谢谢。',
  },
  {
    language: 'zh-Hant',
    client: 'Gmail web',
    html: quotedHtml('謝謝。', 'Helpdesk &lt;hd@example.com&gt; 於 2024年1月1日 週一 上午10:00寫道：'),
    keeps: '謝謝。',
  },
  {
    language: 'ko',
    client: 'Outlook 365 desktop',
    html: outlookHtml('감사합니다.', ['보낸 사람:', '보낸 날짜:', '받는 사람:', '제목:']),
    keeps: '감사합니다.',
  },
  {
    language: 'en',
    client: 'Outlook.com (Date first, no border)',
    html: `<div>Thanks.</div><div><br></div><div>Date: Mon, 1 Jan 2024 10:00:00 +0000<br>Subject: RE: [#123] Printer<br>From: hd@example.com<br>To: john@hotmail.com</div><div><br></div><div>${OLD}</div>`,
    keeps: 'Thanks.',
  },
];

describe('extractReply in many languages: plain text', () => {
  it.each(textRows)('$language $client', (row) => {
    const result = extractReply({ text: row.text, html: null, separator: '' });
    expect(result.replyText).toBe(row.reply);
    expect(result.cut).toContain(OLD);
  });

  it.each(keptRows)('$language $client stays whole', (row) => {
    const result = extractReply({ text: row.text, html: null, separator: '' });
    expect(result.replyText).toBe(row.reply);
    expect(result.cut).toBeNull();
  });
});

describe('extractReply in many languages: HTML', () => {
  it.each(htmlRows)('$language $client', (row) => {
    const result = extractReply({ text: '', html: row.html, separator: '' });
    const visible = htmlToText(result.replyHtml ?? '');
    expect(visible).toContain(row.keeps);
    expect(visible).not.toContain(OLD);
  });
});

describe('extractReply in many languages: cost', () => {
  it('stays fast on many short lines that end in a colon and look like labels', () => {
    const ms = cpuMs(() => {
      extractReply({ text: 'От: 1 <a@b> пишет:\n'.repeat(100_000), html: null, separator: '' });
      extractReply({ text: `${'x'.repeat(399)}:\n`.repeat(5_000), html: null, separator: '' });
    });
    expect(ms).toBeLessThan(5000);
  });
});
