/**
 * How mail clients head quoted history, one table per language. Adding a language or a client's form
 * is adding rows here; replyText.ts builds its matchers from these tables and has no per-language code.
 *
 * `seen` names the client (and version or generation) whose format the row follows. The forms were
 * written from the clients' documented and commonly reported output, not captured from live mailboxes.
 */

/** One attribution line ("On … wrote:"), matched case-insensitively against the squashed line. */
export interface AttributionRow {
  /** Regular expression source; anchored at both ends; must end in a colon (":" or "："). */
  pattern: string;
  seen: string;
  /**
   * Only names the writer ("… Name <addr> wrote:") and opens with no fixed word: across two wrapped
   * lines it only counts when they hold an address, so prose that wraps before "wrote:" is not cut.
   */
  named?: boolean;
}

/** The labels of one client's header block (Outlook's From / Sent / To / Subject and the like). */
export interface HeaderRow {
  from: string[];
  date: string[];
  to: string[];
  subject: string[];
  seen: string;
}

export interface MarkerRow {
  /** The words between the dashes ("-----Original Message-----"), lower-case. */
  text: string;
  seen: string;
}

export interface QuoteLanguage {
  /** BCP 47 language tag. */
  language: string;
  attributions: AttributionRow[];
  headers: HeaderRow[];
  /** Lines that head quoted history ("-----Original Message-----"). */
  originalMessage: MarkerRow[];
  /** Lines that head a forwarded message, which is content and stays. */
  forwarded: MarkerRow[];
  /** Subject prefixes of a forward ("FW", "WG"), lower-case, without the colon. */
  forwardPrefixes: string[];
}

/** Needs a digit or an address somewhere: a date, a time or the writer's address, not plain prose. */
const EVIDENCE = '(?=.*(?:@|\\d))';

/** The writer's address in angle brackets; a wrapped line leaves a space inside them. */
const ADDRESS = '< ?[^<>\\s]+@[^<>\\s]+ ?>';
/** A line that ends in the writer's address after a date: "пн, 1 янв. 2024 г. в 10:00, Name <addr>:". */
const ADDRESSED = `^(?=.*\\d).+${ADDRESS} ?[:：]$`;

/** A line that ends in one of the words: "… Helpdesk <hd@example.com> wrote:". */
function endsWith(words: string): string {
  return `^${EVIDENCE}.+(?:${words}) ?[:：]$`;
}

export const QUOTE_LANGUAGES: QuoteLanguage[] = [
  {
    language: 'en',
    attributions: [
      {
        pattern: '^on .+ wrote ?:$',
        seen: 'Gmail web 2024, Apple Mail 16, Thunderbird 115, Outlook for iOS 4.24',
      },
      {
        named: true,
        pattern: endsWith(' wrote'),
        seen: 'Outlook for Android 4.24, K-9 Mail 6 ("Name <addr> wrote:")',
      },
    ],
    headers: [
      {
        from: ['from'],
        date: ['sent', 'date'],
        to: ['to', 'cc'],
        subject: ['subject'],
        seen: 'Outlook 2016–365 desktop, Outlook.com/Hotmail (block starts with Date:), Windows 10 Mail',
      },
    ],
    originalMessage: [
      { text: 'original message', seen: 'Outlook 2010–365 desktop, Android Samsung Email 6' },
    ],
    forwarded: [
      { text: 'forwarded message', seen: 'Gmail web 2024' },
      { text: 'begin forwarded message', seen: 'Apple Mail 16' },
    ],
    forwardPrefixes: ['fw', 'fwd'],
  },
  {
    language: 'nl',
    attributions: [
      {
        pattern: '^op .+ (?:schreef .*|het volgende geschreven) ?:$',
        seen: 'Gmail web 2024 nl, Apple Mail 16 nl',
      },
      { named: true, pattern: endsWith(' schreef'), seen: 'Thunderbird 115 nl ("Name schreef op …:")' },
    ],
    headers: [
      {
        from: ['van'],
        date: ['verzonden', 'datum'],
        to: ['aan'],
        subject: ['onderwerp'],
        seen: 'Outlook 2016–365 desktop nl',
      },
    ],
    originalMessage: [{ text: 'oorspronkelijk bericht', seen: 'Outlook 2010–365 desktop nl' }],
    forwarded: [
      { text: 'doorgestuurd bericht', seen: 'Gmail web 2024 nl' },
      { text: 'begin doorgestuurd bericht', seen: 'Apple Mail 16 nl' },
    ],
    forwardPrefixes: ['doorst'],
  },
  {
    language: 'de',
    attributions: [
      { pattern: '^am .+ schrieb .*:$', seen: 'Gmail web 2024 de, Thunderbird 115 de, Apple Mail 16 de' },
      { named: true, pattern: endsWith(' schrieb'), seen: 'Outlook for Android 4.24 de' },
    ],
    headers: [
      {
        from: ['von'],
        date: ['gesendet', 'datum'],
        to: ['an', 'cc'],
        subject: ['betreff'],
        seen: 'Outlook 2016–365 desktop de',
      },
    ],
    originalMessage: [
      { text: 'ursprüngliche nachricht', seen: 'Outlook 2010–365 desktop de' },
      { text: 'originalnachricht', seen: 'Samsung Email 6 de' },
    ],
    forwarded: [
      { text: 'weitergeleitete nachricht', seen: 'Gmail web 2024 de' },
      { text: 'anfang der weitergeleiteten nachricht', seen: 'Apple Mail 16 de' },
    ],
    forwardPrefixes: ['wg'],
  },
  {
    language: 'fr',
    attributions: [
      { pattern: '^le .+ a écrit ?:$', seen: 'Gmail web 2024 fr, Thunderbird 115 fr, Apple Mail 16 fr' },
      { named: true, pattern: endsWith(' a écrit'), seen: 'Outlook for Android 4.24 fr' },
    ],
    headers: [
      {
        from: ['de'],
        date: ['envoyé', 'date'],
        to: ['à', 'a', 'cc'],
        subject: ['objet'],
        seen: 'Outlook 2016–365 desktop fr',
      },
    ],
    originalMessage: [{ text: "message d'origine", seen: 'Outlook 2010–365 desktop fr' }],
    forwarded: [
      { text: 'message transféré', seen: 'Gmail web 2024 fr' },
      { text: 'début du message réexpédié', seen: 'Apple Mail 16 fr' },
    ],
    forwardPrefixes: ['tr'],
  },
  {
    language: 'pl',
    attributions: [
      { pattern: '^w dniu .+ pisze ?:$', seen: 'Thunderbird 115 pl' },
      { pattern: '^.+ napisał(?:\\(a\\)|a)? ?:$', seen: 'Gmail web 2024 pl' },
      { named: true, pattern: endsWith(' pisze'), seen: 'Thunderbird 115 pl ("Name pisze:")' },
    ],
    headers: [
      {
        from: ['od'],
        date: ['wysłano', 'data'],
        to: ['do', 'dw'],
        subject: ['temat'],
        seen: 'Outlook 2016–365 desktop pl',
      },
    ],
    originalMessage: [{ text: 'wiadomość oryginalna', seen: 'Outlook 2010–365 desktop pl' }],
    forwarded: [
      { text: 'wiadomość przekazana dalej', seen: 'Gmail web 2024 pl' },
      { text: 'przekazana wiadomość', seen: 'Outlook for Android 4.24 pl' },
    ],
    forwardPrefixes: ['pd'],
  },
  {
    language: 'es',
    attributions: [
      { pattern: '^el .+ escribió ?:$', seen: 'Gmail web 2024 es, Apple Mail 16 es' },
      { named: true, pattern: endsWith(' escribió'), seen: 'Thunderbird 115 es' },
    ],
    headers: [
      {
        from: ['de'],
        date: ['enviado', 'fecha'],
        to: ['para', 'cc'],
        subject: ['asunto'],
        seen: 'Outlook 2016–365 desktop es',
      },
    ],
    originalMessage: [{ text: 'mensaje original', seen: 'Outlook 2010–365 desktop es' }],
    forwarded: [{ text: 'mensaje reenviado', seen: 'Gmail web 2024 es' }],
    forwardPrefixes: ['rv'],
  },
  {
    language: 'ru',
    attributions: [
      {
        named: true,
        pattern: endsWith(' пользователь .+ написал(?:\\(а\\)|а)?'),
        seen: 'Outlook for Android 4.24 ru, Android Gmail 2024 ru ("… пользователь … написал:")',
      },
      {
        named: true,
        pattern: endsWith(' написал(?:\\(а\\)|а)?'),
        seen: 'Apple Mail 16 ru ("… написал(а):")',
      },
      {
        named: true,
        pattern: endsWith(' пишет'),
        seen: 'Thunderbird 115 ru ("01.01.2024 10:00, Name пишет:")',
      },
      {
        named: true,
        pattern: ADDRESSED,
        seen: 'Gmail web 2024 ru ("пн, 1 янв. 2024 г. в 10:00, Name <addr>:"), Mail.ru ("… от Name <addr>:"), Yandex Mail',
      },
    ],
    headers: [
      {
        from: ['от'],
        date: ['отправлено', 'дата'],
        to: ['кому', 'копия'],
        subject: ['тема'],
        seen: 'Outlook 2016–365 desktop ru, Windows 10 Mail ru, Samsung Email 6 ru (Дата:)',
      },
    ],
    originalMessage: [
      { text: 'исходное сообщение', seen: 'Outlook 2010–365 desktop ru, Samsung Email 6 ru' },
    ],
    forwarded: [
      { text: 'пересылаемое сообщение', seen: 'Gmail web 2024 ru, Yandex Mail' },
      { text: 'переадресованное сообщение', seen: 'Samsung Email 6 ru' },
    ],
    forwardPrefixes: ['пересл', 'пересылка'],
  },
  {
    language: 'uk',
    attributions: [
      {
        named: true,
        pattern: endsWith(' пише'),
        seen: 'Gmail web 2024 uk ("пн, 1 січ. 2024 р. о 10:00 Name <addr> пише:")',
      },
      {
        named: true,
        pattern: endsWith(' написав(?:\\(ла\\)|ла)?'),
        seen: 'Apple Mail 16 uk, Outlook for Android 4.24 uk',
      },
    ],
    headers: [
      {
        from: ['від'],
        date: ['надіслано', 'відправлено', 'дата'],
        to: ['кому', 'копія'],
        subject: ['тема'],
        seen: 'Outlook 2016–365 desktop uk, Windows 10 Mail uk',
      },
    ],
    originalMessage: [
      { text: 'оригінальне повідомлення', seen: 'Outlook 2010–365 desktop uk' },
      { text: 'початкове повідомлення', seen: 'Samsung Email 6 uk' },
    ],
    forwarded: [{ text: 'переслане повідомлення', seen: 'Gmail web 2024 uk' }],
    forwardPrefixes: ['пересл'],
  },
  {
    language: 'it',
    attributions: [
      {
        pattern: '^il .+ ha scritto ?:$',
        seen: 'Gmail web 2024 it ("Il giorno … ha scritto:"), Thunderbird 115 it',
      },
      {
        named: true,
        pattern: endsWith(' ha scritto'),
        seen: 'Apple Mail 16 it, Outlook for Android 4.24 it',
      },
    ],
    headers: [
      {
        from: ['da'],
        date: ['inviato', 'data'],
        to: ['a', 'cc'],
        subject: ['oggetto'],
        seen: 'Outlook 2016–365 desktop it',
      },
    ],
    originalMessage: [{ text: 'messaggio originale', seen: 'Outlook 2010–365 desktop it' }],
    forwarded: [{ text: 'messaggio inoltrato', seen: 'Gmail web 2024 it' }],
    forwardPrefixes: ['i', 'inoltro'],
  },
  {
    language: 'pt',
    attributions: [
      {
        pattern: '^em .+ escreveu ?:$',
        seen: 'Gmail web 2024 pt-BR ("Em seg., 1 de jan. de 2024 às 10:00, …")',
      },
      {
        pattern: '^(?:no dia|a|à) .+ escreveu ?:$',
        seen: 'Gmail web 2024 pt-PT ("No dia …"), Apple Mail 16 pt-PT ("A …")',
      },
      {
        named: true,
        pattern: endsWith(' escreveu'),
        seen: 'Outlook for Android 4.24 pt-BR, Thunderbird 115 pt-PT',
      },
    ],
    headers: [
      {
        from: ['de'],
        date: ['enviado', 'enviada', 'data'],
        to: ['para', 'cc'],
        subject: ['assunto'],
        seen: 'Outlook 2016–365 desktop pt-BR and pt-PT',
      },
    ],
    originalMessage: [{ text: 'mensagem original', seen: 'Outlook 2010–365 desktop pt-BR and pt-PT' }],
    forwarded: [{ text: 'mensagem encaminhada', seen: 'Gmail web 2024 pt-BR' }],
    forwardPrefixes: ['enc'],
  },
  {
    language: 'sv',
    attributions: [
      {
        pattern: '^den .+ skrev .+:$',
        seen: 'Gmail web 2024 sv ("Den mån 1 jan. 2024 kl 10:00 skrev Name <addr>:")',
      },
      {
        named: true,
        pattern: `^.+ skrev .+${ADDRESS} ?:$`,
        seen: 'Apple Mail 16 sv ("1 jan. 2024 kl. 10:00 skrev Name <addr>:")',
      },
    ],
    headers: [
      {
        from: ['från'],
        date: ['skickat', 'datum'],
        to: ['till', 'kopia'],
        subject: ['ämne'],
        seen: 'Outlook 2016–365 desktop sv',
      },
    ],
    originalMessage: [
      { text: 'ursprungligt meddelande', seen: 'Outlook 2010–365 desktop sv' },
      { text: 'originalmeddelande', seen: 'Samsung Email 6 sv' },
    ],
    forwarded: [{ text: 'vidarebefordrat meddelande', seen: 'Gmail web 2024 sv' }],
    forwardPrefixes: ['vb'],
  },
  {
    language: 'da',
    attributions: [
      {
        pattern: '^den .+ skrev .+:$',
        seen: 'Gmail web 2024 da ("Den man. 1. jan. 2024 kl. 10.00 skrev …:")',
      },
    ],
    headers: [
      {
        from: ['fra'],
        date: ['sendt', 'dato'],
        to: ['til', 'cc'],
        subject: ['emne'],
        seen: 'Outlook 2016–365 desktop da',
      },
    ],
    originalMessage: [{ text: 'oprindelig meddelelse', seen: 'Outlook 2010–365 desktop da' }],
    forwarded: [{ text: 'videresendt meddelelse', seen: 'Gmail web 2024 da' }],
    forwardPrefixes: ['vs', 'videresend'],
  },
  {
    language: 'nb',
    attributions: [
      {
        named: true,
        pattern: `^.+ skrev .+${ADDRESS} ?:$`,
        seen: 'Gmail web 2024 nb ("man. 1. jan. 2024 kl. 10:00 skrev Name <addr>:")',
      },
      { pattern: '^den .+ skrev .+:$', seen: 'Apple Mail 16 nb' },
    ],
    headers: [
      {
        from: ['fra'],
        date: ['sendt', 'dato'],
        to: ['til', 'kopi'],
        subject: ['emne'],
        seen: 'Outlook 2016–365 desktop nb',
      },
    ],
    originalMessage: [{ text: 'opprinnelig melding', seen: 'Outlook 2010–365 desktop nb' }],
    forwarded: [{ text: 'videresendt melding', seen: 'Gmail web 2024 nb' }],
    forwardPrefixes: ['vs', 'videresend'],
  },
  {
    language: 'fi',
    attributions: [
      {
        named: true,
        pattern: endsWith(' kirjoitti'),
        seen: 'Gmail web 2024 fi ("ma 1.1.2024 klo 10.00 Name <addr> kirjoitti:")',
      },
    ],
    headers: [
      {
        from: ['lähettäjä'],
        date: ['lähetetty', 'päivämäärä'],
        to: ['vastaanottaja', 'kopio'],
        subject: ['aihe'],
        seen: 'Outlook 2016–365 desktop fi',
      },
    ],
    originalMessage: [{ text: 'alkuperäinen viesti', seen: 'Outlook 2010–365 desktop fi' }],
    forwarded: [{ text: 'välitetty viesti', seen: 'Gmail web 2024 fi' }],
    forwardPrefixes: ['vl'],
  },
  {
    language: 'cs',
    attributions: [
      {
        named: true,
        pattern: endsWith(' napsal(?:\\(a\\)|a)?'),
        seen: 'Gmail web 2024 cs ("po 1. 1. 2024 v 10:00 odesílatel … napsal:")',
      },
    ],
    headers: [
      {
        from: ['od'],
        date: ['odesláno', 'datum'],
        to: ['komu', 'kopie'],
        subject: ['předmět'],
        seen: 'Outlook 2016–365 desktop cs',
      },
    ],
    originalMessage: [{ text: 'původní zpráva', seen: 'Outlook 2010–365 desktop cs' }],
    forwarded: [{ text: 'přeposlaná zpráva', seen: 'Gmail web 2024 cs' }],
    forwardPrefixes: ['pd'],
  },
  {
    language: 'sk',
    attributions: [
      {
        named: true,
        pattern: endsWith(' napísal(?:\\(a\\)|a)?'),
        seen: 'Gmail web 2024 sk ("po 1. 1. 2024 o 10:00 … napísal(a):")',
      },
    ],
    headers: [
      {
        from: ['od'],
        date: ['odoslané', 'dátum'],
        to: ['komu', 'kópia'],
        subject: ['predmet'],
        seen: 'Outlook 2016–365 desktop sk',
      },
    ],
    originalMessage: [{ text: 'pôvodná správa', seen: 'Outlook 2010–365 desktop sk' }],
    forwarded: [{ text: 'preposlaná správa', seen: 'Gmail web 2024 sk' }],
    forwardPrefixes: ['pd'],
  },
  {
    language: 'hu',
    attributions: [
      {
        named: true,
        pattern: endsWith(' ezt írta(?: \\(.+\\))?'),
        seen: 'Gmail web 2024 hu ("Name <addr> ezt írta (időpont: …):")',
      },
      {
        named: true,
        pattern: endsWith(' írta'),
        seen: 'Apple Mail 16 hu ("… időpontban Name <addr> írta:")',
      },
    ],
    headers: [
      {
        from: ['feladó'],
        date: ['elküldve', 'dátum'],
        to: ['címzett', 'másolatot kap'],
        subject: ['tárgy'],
        seen: 'Outlook 2016–365 desktop hu',
      },
    ],
    originalMessage: [{ text: 'eredeti üzenet', seen: 'Outlook 2010–365 desktop hu' }],
    forwarded: [{ text: 'továbbított üzenet', seen: 'Gmail web 2024 hu' }],
    forwardPrefixes: ['tov', 'továbbítás'],
  },
  {
    language: 'ro',
    attributions: [
      {
        pattern: '^în .+ a scris ?:$',
        seen: 'Gmail web 2024 ro ("În lun., 1 ian. 2024 la 10:00, … a scris:")',
      },
      { named: true, pattern: endsWith(' a scris'), seen: 'Thunderbird 115 ro' },
    ],
    headers: [
      {
        from: ['de la'],
        date: ['trimis', 'dată', 'data'],
        to: ['către', 'catre', 'cc'],
        subject: ['subiect'],
        seen: 'Outlook 2016–365 desktop ro',
      },
    ],
    originalMessage: [
      { text: 'mesaj original', seen: 'Outlook 2010–365 desktop ro' },
      { text: 'mesajul original', seen: 'Samsung Email 6 ro' },
    ],
    forwarded: [{ text: 'mesaj redirecționat', seen: 'Gmail web 2024 ro' }],
    forwardPrefixes: ['redirecționare'],
  },
  {
    language: 'tr',
    attributions: [
      {
        named: true,
        pattern: endsWith(' tarihinde şunu yazdı'),
        seen: 'Gmail web 2024 tr ("Name <addr>, 1 Oca 2024 Pzt, 10:00 tarihinde şunu yazdı:")',
      },
      { named: true, pattern: endsWith(' yazdı'), seen: 'Apple Mail 16 tr' },
    ],
    headers: [
      {
        from: ['kimden'],
        date: ['gönderildi', 'gönderilme tarihi', 'tarih'],
        to: ['kime', 'bilgi'],
        subject: ['konu'],
        seen: 'Outlook 2016–365 desktop tr',
      },
    ],
    originalMessage: [
      { text: 'özgün ileti', seen: 'Outlook 2010–365 desktop tr' },
      { text: 'orijinal mesaj', seen: 'Samsung Email 6 tr' },
    ],
    forwarded: [{ text: 'yönlendirilen ileti', seen: 'Gmail web 2024 tr' }],
    forwardPrefixes: ['ilt', 'ilet'],
  },
  {
    language: 'el',
    attributions: [
      {
        pattern: '^στις .+ έγραψε ?:$',
        seen: 'Gmail web 2024 el ("Στις Δευ 1 Ιαν 2024 στις 10:00, ο/η … έγραψε:")',
      },
      { named: true, pattern: endsWith(' έγραψε'), seen: 'Apple Mail 16 el' },
    ],
    headers: [
      {
        from: ['από'],
        date: ['στάλθηκε', 'ημερομηνία'],
        to: ['προς', 'κοιν'],
        subject: ['θέμα'],
        seen: 'Outlook 2016–365 desktop el',
      },
    ],
    originalMessage: [{ text: 'αρχικό μήνυμα', seen: 'Outlook 2010–365 desktop el' }],
    forwarded: [{ text: 'προωθημένο μήνυμα', seen: 'Gmail web 2024 el' }],
    forwardPrefixes: ['πρθ', 'προώθηση'],
  },
  {
    language: 'ja',
    attributions: [
      {
        named: true,
        pattern: endsWith('のメール'),
        seen: 'Apple Mail 16 ja ("2024/01/01 10:00、Name <addr>のメール:")',
      },
      {
        named: true,
        pattern: endsWith('(?:さん)?は書きました'),
        seen: 'Thunderbird 60–115 ja ("Name さんは書きました:")',
      },
      { named: true, pattern: ADDRESSED, seen: 'Gmail web 2024 ja ("2024年1月1日(月) 10:00 Name <addr>:")' },
    ],
    headers: [
      {
        from: ['差出人', '送信者'],
        date: ['送信日時', '日付'],
        to: ['宛先', 'cc'],
        subject: ['件名'],
        seen: 'Outlook 2016–365 desktop ja',
      },
    ],
    originalMessage: [{ text: '元のメッセージ', seen: 'Outlook 2010–365 desktop ja' }],
    forwarded: [{ text: '転送メッセージ', seen: 'Gmail web 2024 ja' }],
    forwardPrefixes: ['転送'],
  },
  {
    language: 'zh-Hans',
    attributions: [
      {
        named: true,
        pattern: endsWith('写道'),
        seen: 'Gmail web 2024 zh-CN ("Name <addr> 于2024年1月1日周一 10:00写道："), Apple Mail 16 zh-CN',
      },
    ],
    headers: [
      {
        from: ['发件人'],
        date: ['发送时间', '日期'],
        to: ['收件人', '抄送'],
        subject: ['主题'],
        seen: 'Outlook 2016–365 desktop zh-CN, QQ Mail (after "------------------ 原始邮件 ------------------")',
      },
    ],
    originalMessage: [{ text: '原始邮件', seen: 'QQ Mail, Outlook 2010–365 desktop zh-CN' }],
    forwarded: [{ text: '转发的邮件', seen: 'Gmail web 2024 zh-CN' }],
    forwardPrefixes: ['转发'],
  },
  {
    language: 'zh-Hant',
    attributions: [
      {
        named: true,
        pattern: endsWith('寫道'),
        seen: 'Gmail web 2024 zh-TW ("Name <addr> 於 2024年1月1日 週一 上午10:00寫道：")',
      },
    ],
    headers: [
      {
        from: ['寄件者'],
        date: ['寄件日期', '日期'],
        to: ['收件者', '副本'],
        subject: ['主旨'],
        seen: 'Outlook 2016–365 desktop zh-TW',
      },
    ],
    originalMessage: [{ text: '原始郵件', seen: 'Outlook 2010–365 desktop zh-TW' }],
    forwarded: [{ text: '轉寄郵件', seen: 'Gmail web 2024 zh-TW' }],
    forwardPrefixes: ['轉寄'],
  },
  {
    language: 'ko',
    attributions: [
      {
        named: true,
        pattern: endsWith('작성'),
        seen: 'Gmail web 2024 ko ("… Name <addr>님이 작성:"), Apple Mail 16 ko ("… <addr> 작성:")',
      },
    ],
    headers: [
      {
        from: ['보낸 사람'],
        date: ['보낸 날짜'],
        to: ['받는 사람', '참조'],
        subject: ['제목'],
        seen: 'Outlook 2016–365 desktop ko',
      },
    ],
    originalMessage: [{ text: '원본 메시지', seen: 'Outlook 2010–365 desktop ko' }],
    forwarded: [{ text: '전달된 메시지', seen: 'Gmail web 2024 ko' }],
    forwardPrefixes: ['전달'],
  },
];

/** Every value of one field over all languages, without repeats. */
export function collect<T>(pick: (language: QuoteLanguage) => T[]): T[] {
  return [...new Set(QUOTE_LANGUAGES.flatMap(pick))];
}
