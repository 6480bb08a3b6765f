import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { identifier } from '../../shared/helpdesk/settings.js';
import {
  type Classification,
  classifyMail,
  createOwnMessageId,
  fallbackMessageIdDomain,
  isDeliverySystemAddress,
  isNoReplyAddress,
  isOwnMessageId,
  type MailKind,
  mayBeAnswered,
} from '../../shared/mail/classify.js';
import type { ParsedMail } from '../../shared/mail/parsedMail.js';
import { parseMail } from '../../shared/mail/parseMail.js';
import { glpiCorpus } from '../support/fixtures.js';
import { emptyParsedMail, parsedMailFromSource } from '../support/parsedMailFromFile.js';

const context = {
  ownAddresses: ['helpdesk@example.com', 'support@example.com'],
  ownMessageIdDomain: 'helpdesk.example.com',
};
const ownId = createOwnMessageId('ticket-123/acknowledgement/1', context.ownMessageIdDomain);

const plainBody = ['Content-Type: text/plain; charset=utf-8', '', 'Hello,', '', 'see above.', ''].join('\n');

const exchangeOofGerman = `Received: from EXCH01.kunde.local (10.0.0.5) by EXCH02.kunde.local
 (10.0.0.6) with Microsoft SMTP Server id 15.1.2507.6; Mon, 6 May 2024 09:12:01 +0200
From: Max Mustermann <max.mustermann@kunde.de>
To: Helpdesk <helpdesk@example.com>
Subject: Automatische Antwort: [#123] Drucker defekt
Thread-Topic: [#123] Drucker defekt
Thread-Index: AQHanxyz1234567890abcdefghijklmno==
Date: Mon, 6 May 2024 07:12:01 +0000
Message-ID: <4a1b2c3d4e5f@EXCH01.kunde.local>
In-Reply-To: ${ownId}
References: ${ownId}
Auto-Submitted: auto-generated
X-Auto-Response-Suppress: All
X-MS-Exchange-Organization-SCL: -1
X-MS-Exchange-Organization-AuthAs: Internal
X-MS-Has-Attach:
X-MS-TNEF-Correlator:
MIME-Version: 1.0
${plainBody}`;

const exchangeOofDutch = `From: Jan de Vries <jan.devries@klant.nl>
To: Helpdesk <helpdesk@example.com>
Subject: Automatisch antwoord: [#123] Printer kapot
Thread-Topic: [#123] Printer kapot
Date: Mon, 6 May 2024 07:12:01 +0000
Message-ID: <AM0PR01MB1234@AM0PR01MB1234.eurprd01.prod.exchangelabs.com>
In-Reply-To: ${ownId}
X-MS-Exchange-Organization-AuthSource: AM0PR01MB1234.eurprd01.prod.exchangelabs.com
MIME-Version: 1.0
${plainBody}`;

const dutchAbsentNoHeaders = `From: Piet <piet@klant.nl>
To: helpdesk@example.com
Subject: Afwezig
Date: Mon, 6 May 2024 07:12:01 +0000
Message-ID: <afwezig-1@klant.nl>
${plainBody}`;

const gmailVacation = `Return-Path: <jane.doe@gmail.com>
From: Jane Doe <jane.doe@gmail.com>
To: helpdesk@example.com
Subject: Re: [#123] Printer broken
Date: Mon, 6 May 2024 07:12:01 +0000
Message-ID: <CAF=vacation1234@mail.gmail.com>
In-Reply-To: ${ownId}
References: ${ownId}
Auto-Submitted: auto-replied
MIME-Version: 1.0
${plainBody}`;

const postfixBounce = `Return-Path: <>
From: MAILER-DAEMON@mail.example.net (Mail Delivery System)
To: helpdesk@example.com
Subject: Undelivered Mail Returned to Sender
Date: Mon, 6 May 2024 07:12:01 +0000
Message-ID: <20240506071201.ABC123@mail.example.net>
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
 boundary="B1.1715000000/mail.example.net"

--B1.1715000000/mail.example.net
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

--B1.1715000000/mail.example.net
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mail.example.net
Arrival-Date: Mon,  6 May 2024 09:12:00 +0200 (CEST)

Final-Recipient: rfc822; gone@customer.example
Action: failed
Status: 5.1.1

--B1.1715000000/mail.example.net
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

From: helpdesk@example.com
Subject: [#123] Printer broken

--B1.1715000000/mail.example.net--
`;

const exchangeNdr = `From: Microsoft Outlook <postmaster@contoso.onmicrosoft.com>
To: helpdesk@example.com
Subject: Undeliverable: [#123] Printer broken
Thread-Topic: [#123] Printer broken
Date: Mon, 6 May 2024 07:12:01 +0000
Message-ID: <0b9c2e3f-ndr@DB8PR01MB1234.eurprd01.prod.exchangelabs.com>
X-MS-Exchange-Message-Is-Ndr:
Content-Language: en-US
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="ndr"

--ndr
Content-Type: text/plain; charset=utf-8

Your message to gone@contoso.com couldn't be delivered.

--ndr
Content-Type: message/delivery-status

Reporting-MTA: dns;DB8PR01MB1234.eurprd01.prod.outlook.com

Final-recipient: RFC822; gone@contoso.com
Action: failed
Status: 5.1.10

--ndr--
`;

const dutchNdrSubjectOnly = `From: Beheer <beheer@klant.nl>
To: helpdesk@example.com
Subject: Onbestelbaar: [#123] Printer kapot
Date: Mon, 6 May 2024 07:12:01 +0000
Message-ID: <ndr-nl-1@klant.nl>
${plainBody}`;

const mailchimp = `Return-Path: <bounce-mc.us5_1234.5678-helpdesk=example.com@mail123.atl11.mcdlv.net>
From: Shop News <news@shop.example>
Reply-To: Shop News <news@shop.example>
To: helpdesk@example.com
Subject: Our spring sale starts today
Date: Mon, 6 May 2024 07:12:01 +0000
Message-ID: <c1a2b3.mc@mail123.atl11.mcdlv.net>
List-ID: 1234abcd mailchimp list <1234abcd.5678.list-id.mcsv.net>
List-Unsubscribe: <https://shop.us5.list-manage.com/unsubscribe?u=1&id=2>, <mailto:unsubscribe-mc.us5_1@unsubscribe.mailchimpapp.net>
List-Unsubscribe-Post: List-Unsubscribe=One-Click
X-Mailer: MailChimp Mailer - **CID1234abcd**
Feedback-ID: 1234:1234.5678:us5:mc
MIME-Version: 1.0
${plainBody}`;

const githubNotification = `From: Octo Cat <notifications@github.com>
Reply-To: owner/repo <reply+ABCDEF@reply.github.com>
To: owner/repo <repo@noreply.github.com>
Cc: helpdesk@example.com
Subject: Re: [owner/repo] Crash on start (Issue #42)
Date: Mon, 6 May 2024 07:12:01 +0000
Message-ID: <owner/repo/issues/42/1234567@github.com>
In-Reply-To: <owner/repo/issues/42@github.com>
List-ID: owner/repo <repo.owner.github.com>
List-Archive: https://github.com/owner/repo
List-Post: <mailto:reply+ABCDEF@reply.github.com>
List-Unsubscribe: <mailto:unsub+ABCDEF@reply.github.com>
X-GitHub-Reason: subscribed
Precedence: list
MIME-Version: 1.0
${plainBody}`;

const zendeskAck = `From: Vendor Support <support@vendor.zendesk.com>
To: helpdesk@example.com
Subject: [Vendor] Re: [#123] Printer broken
Date: Mon, 6 May 2024 07:12:01 +0000
Message-ID: <ZD4X9-ack@zendesk.com>
In-Reply-To: ${ownId}
Auto-Submitted: auto-replied
X-Mailer: Zendesk Mailer
MIME-Version: 1.0
${plainBody}`;

const freshdeskAck = `From: Acme Support <support@acme.freshdesk.com>
To: helpdesk@example.com
Subject: Ticket Received - [#123] Printer broken
Date: Mon, 6 May 2024 07:12:01 +0000
Message-ID: <fd.ack.991@acme.freshdesk.com>
Auto-Submitted: auto-replied
X-Auto-Response-Suppress: All
MIME-Version: 1.0
${plainBody}`;

const outlookHumanReply = `Received: from AM9P193MB0869.EURP193.PROD.OUTLOOK.COM (2603:10a6:20b:3a::14)
 by AM8P193MB1027.EURP193.PROD.OUTLOOK.COM with HTTPS; Mon, 6 May 2024 07:12:01 +0000
From: Anna Kowalska <anna.kowalska@klient.pl>
To: Helpdesk <helpdesk@example.com>
Subject: RE: [#123] Drukarka nie działa
Thread-Topic: [#123] Drukarka nie działa
Thread-Index: AQHanxyz1234567890abcdefghijklmno==
Date: Mon, 6 May 2024 07:12:01 +0000
Message-ID: <AM9P193MB0869C1@AM9P193MB0869.EURP193.PROD.OUTLOOK.COM>
In-Reply-To: ${ownId}
References: ${ownId}
Accept-Language: pl-PL, en-US
Content-Language: pl-PL
X-MS-Has-Attach:
X-MS-TNEF-Correlator:
x-ms-publictraffictype: Email
x-ms-exchange-senderadcheck: 1
X-MS-Exchange-CrossTenant-AuthAs: Internal
X-MS-Exchange-CrossTenant-mailboxtype: HOSTED
X-MS-Exchange-Transport-CrossTenantHeadersStamped: AM9P193MB0869
X-MS-Exchange-Organization-AuthAs: Internal
MIME-Version: 1.0
${plainBody}`;

const ownAckComingBack = `From: Example Helpdesk <helpdesk@example.com>
To: helpdesk@example.com
Subject: [#123] Printer broken
Date: Mon, 6 May 2024 07:12:01 +0000
Message-ID: ${ownId}
Auto-Submitted: auto-replied
X-Auto-Response-Suppress: All
X-Helpdesk-Mail-Importer: acknowledgement
MIME-Version: 1.0
${plainBody}`;

const ownIdOnlyThroughRelay = `From: Relay <relay@forwarder.example>
To: helpdesk@example.com
Subject: [#123] Printer broken
Date: Mon, 6 May 2024 07:12:01 +0000
Message-ID: ${ownId}
${plainBody}`;

const fromOwnMailbox = `From: Support Team <Support@Example.com>
To: customer@customer.example
Cc: helpdesk@example.com
Subject: Your printer
Date: Mon, 6 May 2024 07:12:01 +0000
Message-ID: <agent-mail-1@example.com>
${plainBody}`;

const suppressReceiptsOnly = `From: Bob <bob@customer.example>
To: helpdesk@example.com
Subject: Printer broken
Date: Mon, 6 May 2024 07:12:01 +0000
Message-ID: <bob-1@customer.example>
X-Auto-Response-Suppress: RN, NRN
${plainBody}`;

const suppressAutoReplies = `From: Bob <bob@customer.example>
To: helpdesk@example.com
Subject: Printer broken
Date: Mon, 6 May 2024 07:12:01 +0000
Message-ID: <bob-2@customer.example>
X-Auto-Response-Suppress: OOF, AutoReply
${plainBody}`;

const precedenceJunk = `From: Offers <offers@deals.example>
To: helpdesk@example.com
Subject: You won
Date: Mon, 6 May 2024 07:12:01 +0000
Message-ID: <junk-1@deals.example>
Precedence: junk
${plainBody}`;

const xAutoreply = `From: Carla <carla@customer.example>
To: helpdesk@example.com
Subject: Re: [#123] Printer broken
Date: Mon, 6 May 2024 07:12:01 +0000
Message-ID: <carla-auto@customer.example>
X-Autoreply: yes
${plainBody}`;

const nullReturnPath = `Return-Path: <>
From: Dave <dave@customer.example>
To: helpdesk@example.com
Subject: Re: [#123] Printer broken
Date: Mon, 6 May 2024 07:12:01 +0000
Message-ID: <dave-1@customer.example>
${plainBody}`;

const readReceipt = `Return-Path: <>
From: Eve <eve@customer.example>
To: helpdesk@example.com
Subject: Read: [#123] Printer broken
Date: Mon, 6 May 2024 07:12:01 +0000
Message-ID: <mdn-1@customer.example>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=disposition-notification; boundary="mdn"

--mdn
Content-Type: text/plain

Your message was read.

--mdn
Content-Type: message/disposition-notification

Final-Recipient: rfc822; eve@customer.example
Disposition: manual-action/MDN-sent-manually; displayed

--mdn--
`;

const ruleForwarded = `From: Frank <frank@customer.example>
To: helpdesk@example.com
Subject: FW: Printer broken
Date: Mon, 6 May 2024 07:12:01 +0000
Message-ID: <fwd-rule-1@customer.example>
X-MS-Exchange-Inbox-Rules-Loop: frank@customer.example
X-MS-Exchange-Generated-Message-Source: Mailbox Rules Agent
${plainBody}`;

const autoSubmittedNo = `From: Gina <gina@customer.example>
To: helpdesk@example.com
Subject: Printer broken
Date: Mon, 6 May 2024 07:12:01 +0000
Message-ID: <gina-1@customer.example>
Auto-Submitted: no
X-Autoreply: no
${plainBody}`;

const monitoringAlert = `From: Nagios <nagios@monitor.customer.example>
To: helpdesk@example.com
Subject: PROBLEM: disk /var on db01 is CRITICAL
Date: Mon, 6 May 2024 07:12:01 +0000
Message-ID: <nagios-1@monitor.customer.example>
Auto-Submitted: auto-generated
${plainBody}`;

const forwardedNdr = `From: Hank <hank@customer.example>
To: helpdesk@example.com
Subject: FW: Undeliverable: Offer for Contoso
Date: Mon, 6 May 2024 07:12:01 +0000
Message-ID: <hank-1@customer.example>
${plainBody}`;

const humanOutOfOfficeWords = `From: Iris <iris@customer.example>
To: helpdesk@example.com
Subject: Out of office next week - please reset my password
Date: Mon, 6 May 2024 07:12:01 +0000
Message-ID: <iris-1@customer.example>
${plainBody}`;

const xLoopOwn = `From: Script <script@customer.example>
To: helpdesk@example.com
Subject: [#123] Printer broken
Date: Mon, 6 May 2024 07:12:01 +0000
Message-ID: <loop-1@customer.example>
X-Loop: helpdesk@example.com
${plainBody}`;

const xLoopForeign = `From: Procmail <robot@customer.example>
To: helpdesk@example.com
Subject: Printer broken
Date: Mon, 6 May 2024 07:12:01 +0000
Message-ID: <loop-2@customer.example>
X-Loop: robot@customer.example
${plainBody}`;

const exchangeOnlineOofEnglish = `Received: from AM0PR01MB1234.eurprd01.prod.outlook.com (2603:10a6:208:1::1) by
 AM0PR01MB5678.eurprd01.prod.outlook.com with HTTPS; Mon, 6 May 2024 07:12:01 +0000
From: Sarah Smith <sarah.smith@contoso.com>
To: Helpdesk <helpdesk@example.com>
Subject: Automatic reply: [#123] Printer broken
Thread-Topic: [#123] Printer broken
Thread-Index: AQHanxyz1234567890abcdefghijklmnoAAAAB
Date: Mon, 6 May 2024 07:12:01 +0000
Message-ID: <AM0PR01MB1234A1B2C3@AM0PR01MB1234.eurprd01.prod.outlook.com>
In-Reply-To: ${ownId}
References: ${ownId}
Content-Language: en-US
X-MS-Has-Attach:
X-MS-Exchange-Organization-SCL: -1
X-MS-TNEF-Correlator:
X-Auto-Response-Suppress: All
X-MS-Exchange-Inbox-Rules-Loop: sarah.smith@contoso.com
auto-submitted: auto-generated
x-ms-exchange-parent-message-id: ${ownId}
x-ms-exchange-generated-message-source: Mailbox Rules Agent
x-ms-publictraffictype: Email
MIME-Version: 1.0
${plainBody}`;

const exchangeOofUnlistedLanguage = `From: Budi Santoso <budi@pelanggan.co.id>
To: Helpdesk <helpdesk@example.com>
Subject: Balasan Otomatis: [#123] Printer rusak
Thread-Topic: [#123] Printer rusak
Thread-Index: AQHanxyz1234567890abcdefghijklmnoAAAAC
Date: Mon, 6 May 2024 07:12:01 +0000
Message-ID: <SG2PR01MB4321@SG2PR01MB4321.apcprd01.prod.outlook.com>
In-Reply-To: ${ownId}
X-Auto-Response-Suppress: All
X-MS-Exchange-Inbox-Rules-Loop: budi@pelanggan.co.id
Auto-Submitted: auto-generated
X-MS-Exchange-Generated-Message-Source: Mailbox Rules Agent
MIME-Version: 1.0
${plainBody}`;

const exchangeOofJapaneseSubjectOnly = `From: =?UTF-8?B?5bGx55Sw5aSq6YOO?= <yamada@kokyaku.co.jp>
To: helpdesk@example.com
Subject: =?UTF-8?B?6Ieq5YuV5b+c562UOiBbIzEyM10g44OX44Oq44Oz44K/44O844GM5aOK44KM44Gf?=
Date: Mon, 6 May 2024 07:12:01 +0000
Message-ID: <TYCPR01MB9999@TYCPR01MB9999.jpnprd01.prod.outlook.com>
MIME-Version: 1.0
${plainBody}`;

const outlookOofFrench = `From: Claire Martin <claire.martin@client.fr>
To: helpdesk@example.com
Subject: =?UTF-8?Q?R=C3=A9ponse_automatique=C2=A0:_[#123]_Imprimante_en_panne?=
Thread-Topic: [#123] Imprimante en panne
Date: Mon, 6 May 2024 07:12:01 +0000
Message-ID: <PR1P264MB0001@PR1P264MB0001.FRAP264.PROD.OUTLOOK.COM>
Auto-Submitted: auto-generated
X-Auto-Response-Suppress: All
MIME-Version: 1.0
${plainBody}`;

const exchangeRuleForward = `From: Frank Fischer <frank@kunde.de>
To: helpdesk@example.com
Subject: WG: [#123] Drucker defekt
Thread-Topic: [#123] Drucker defekt
Date: Mon, 6 May 2024 07:12:01 +0000
Message-ID: <FR0P281MB0002@FR0P281MB0002.DEUP281.PROD.OUTLOOK.COM>
Auto-Submitted: auto-generated
X-MS-Exchange-Inbox-Rules-Loop: frank@kunde.de
X-MS-Exchange-Generated-Message-Source: Mailbox Rules Agent
MIME-Version: 1.0
${plainBody}`;

const koreanRuleForward = `From: Kim Minsu <minsu@gogaek.co.kr>
To: helpdesk@example.com
Subject: =?UTF-8?B?7KCE64usOiBbIzEyM10gUHJpbnRlciBicm9rZW4=?=
Thread-Topic: [#123] Printer broken
Date: Mon, 6 May 2024 07:12:01 +0000
Message-ID: <SL2P216MB0003@SL2P216MB0003.KORP216.PROD.OUTLOOK.COM>
X-MS-Exchange-Inbox-Rules-Loop: minsu@gogaek.co.kr
X-MS-Exchange-Generated-Message-Source: Mailbox Rules Agent
MIME-Version: 1.0
${plainBody}`;

const humanEditedSubjectWithThreadTopic = `From: Anna Kowalska <anna.kowalska@klient.pl>
To: Helpdesk <helpdesk@example.com>
Subject: PILNE: [#123] Drukarka nie działa
Thread-Topic: [#123] Drukarka nie działa
Thread-Index: AQHanxyz1234567890abcdefghijklmnoAAAAD
Date: Mon, 6 May 2024 07:12:01 +0000
Message-ID: <AM9P193MB0869C2@AM9P193MB0869.EURP193.PROD.OUTLOOK.COM>
In-Reply-To: ${ownId}
X-MS-Has-Attach:
X-MS-TNEF-Correlator:
MIME-Version: 1.0
${plainBody}`;

const sieveVacation = `Return-Path: <lars@kunde.example>
From: Lars Berg <lars@kunde.example>
To: helpdesk@example.com
Subject: Auto: [#123] Printer broken
Date: Mon, 6 May 2024 07:12:01 +0000
Message-ID: <dovecot-sieve-1715000000-123@mail.kunde.example>
In-Reply-To: ${ownId}
References: ${ownId}
Auto-Submitted: auto-replied (vacation)
Precedence: bulk
X-Sieve: Pigeonhole Sieve 0.5.20
MIME-Version: 1.0
${plainBody}`;

const exchangeNdrGerman = `From: Microsoft Outlook <MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@kunde.de>
To: helpdesk@example.com
Subject: Unzustellbar: [#123] Drucker defekt
Thread-Topic: [#123] Drucker defekt
Date: Mon, 6 May 2024 07:12:01 +0000
Message-ID: <ndr-de-1@FR0P281MB0004.DEUP281.PROD.OUTLOOK.COM>
X-MS-Exchange-Message-Is-Ndr:
Content-Language: de-DE
MIME-Version: 1.0
${plainBody}`;

const exchangeDeliveryReceipt = `From: postmaster@contoso.com
To: helpdesk@example.com
Subject: Delivered: [#123] Printer broken
Date: Mon, 6 May 2024 07:12:01 +0000
Message-ID: <dsn-delivered-1@contoso.com>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="dsn"

--dsn
Content-Type: text/plain; charset=us-ascii

Your message has been delivered to the following recipients: sarah.smith@contoso.com

--dsn
Content-Type: message/delivery-status

Reporting-MTA: dns;AM0PR01MB1234.eurprd01.prod.outlook.com

Final-recipient: RFC822; sarah.smith@contoso.com
Action: delivered
Status: 2.0.0

--dsn--
`;

const exchangeNotRead = `From: Sarah Smith <sarah.smith@contoso.com>
To: helpdesk@example.com
Subject: Not read: [#123] Printer broken
Thread-Topic: [#123] Printer broken
Date: Mon, 6 May 2024 07:12:01 +0000
Message-ID: <mdn-notread-1@contoso.com>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=disposition-notification; boundary="mdn"

--mdn
Content-Type: text/plain; charset=us-ascii

Your message was deleted without being read.

--mdn
Content-Type: message/disposition-notification

Final-Recipient: rfc822;sarah.smith@contoso.com
Disposition: automatic-action/MDN-sent-automatically; deleted

--mdn--
`;

interface Case {
  name: string;
  /** The raw mail as it arrives. */
  bytes: () => Promise<Buffer>;
  kind: MailKind;
  /** A substring one of the reasons must contain; null: no reasons at all. */
  reason: string | null;
}

const corpus = (file: string) => () => readFile(path.join(glpiCorpus, file));
const raw = (source: string) => async () => Buffer.from(source.replace(/\r?\n/g, '\r\n'), 'utf8');

const cases: Case[] = [
  // GLPI corpus
  {
    name: 'corpus 27-autoreply (MAILER-DAEMON)',
    bytes: corpus('27-autoreply.eml'),
    kind: 'bounce',
    reason: 'mailer-daemon',
  },
  {
    name: 'corpus 05-empty-from (chat notification)',
    bytes: corpus('05-empty-from.eml'),
    kind: 'bulk',
    reason: 'Auto-Submitted: auto-generated',
  },
  {
    name: 'corpus 22-notification-from-glpi',
    bytes: corpus('22-notification-from-glpi.eml'),
    kind: 'bulk',
    reason: 'no-reply',
  },
  ...[
    '22.1-ticket-notification-from-glpi-9.x.eml',
    '22.2-notification-from-glpi-new-messageid-format.eml',
    '22.2-ticket-notification-from-glpi-10.0.0.eml',
    '22.3-ticket-notification-from-glpi-10.0.7.eml',
    '22.4-softwarelicence-notification-from-glpi-9.x.eml',
    '22.5-softwarelicence-notification-from-glpi-10.0.0.eml',
    '22.6-softwarelicence-notification-from-glpi-10.0.7.eml',
    '22.7-itemless-notification-from-glpi-9.x.eml',
    '22.8-itemless-notification-from-glpi-10.0.0.eml',
    '22.9-itemless-notification-from-glpi-10.0.7.eml',
  ].map(
    (file): Case => ({
      name: `corpus ${file}`,
      bytes: corpus(file),
      kind: 'bulk',
      reason: 'noreply@glpi-project.org',
    }),
  ),
  { name: 'corpus 51-supplier-reply', bytes: corpus('51-supplier-reply.eml'), kind: 'normal', reason: null },
  {
    name: 'corpus 04-ticket-followup',
    bytes: corpus('04-ticket-followup.eml'),
    kind: 'normal',
    reason: null,
  },
  {
    name: 'corpus 04.1 follow-up via In-Reply-To',
    bytes: corpus('04.1-ticket-followup-from-inreplyto.eml'),
    kind: 'normal',
    reason: null,
  },
  {
    name: 'corpus 04.2 follow-up via References',
    bytes: corpus('04.2-ticket-followup-from-references.eml'),
    kind: 'normal',
    reason: null,
  },
  {
    name: 'corpus 04.3 follow-up via subject',
    bytes: corpus('04.3-ticket-followup-from-subject.eml'),
    kind: 'normal',
    reason: null,
  },
  {
    name: 'corpus 46-proton-android reply',
    bytes: corpus('46-proton-android-mail-response.eml'),
    kind: 'normal',
    reason: null,
  },
  // The UPS notification carries no automation header: content is not guessed at, it is a ticket.
  {
    name: 'corpus 42 UPS notification',
    bytes: corpus('42-missing-content-type.eml'),
    kind: 'normal',
    reason: null,
  },
  {
    name: 'corpus 27-empty (Outlook reply, X-MS headers)',
    bytes: corpus('27-empty.eml'),
    kind: 'normal',
    reason: null,
  },
  {
    name: 'corpus 23-uuid-from-another-glpi',
    bytes: corpus('23-uuid-from-another-glpi.eml'),
    kind: 'normal',
    reason: null,
  },
  { name: 'corpus 02-unknown_user', bytes: corpus('02-unknown_user.eml'), kind: 'normal', reason: null },
  // Hand-written mails shaped like the real thing
  {
    name: 'Exchange out-of-office (German)',
    bytes: raw(exchangeOofGerman),
    kind: 'autoReply',
    reason: 'Automatische Antwort',
  },
  {
    name: 'Exchange out-of-office (Dutch)',
    bytes: raw(exchangeOofDutch),
    kind: 'autoReply',
    reason: 'out-of-office',
  },
  {
    name: 'Dutch "Afwezig" subject alone',
    bytes: raw(dutchAbsentNoHeaders),
    kind: 'autoReply',
    reason: 'Afwezig',
  },
  {
    name: 'Gmail vacation responder',
    bytes: raw(gmailVacation),
    kind: 'autoReply',
    reason: 'Auto-Submitted: auto-replied',
  },
  {
    name: 'Postfix bounce (multipart/report)',
    bytes: raw(postfixBounce),
    kind: 'bounce',
    reason: 'report-type=delivery-status',
  },
  { name: 'Exchange NDR "Undeliverable:"', bytes: raw(exchangeNdr), kind: 'bounce', reason: 'Undeliverable' },
  {
    name: 'Dutch NDR subject only',
    bytes: raw(dutchNdrSubjectOnly),
    kind: 'bounce',
    reason: 'delivery failure notice',
  },
  { name: 'Mailchimp list mail', bytes: raw(mailchimp), kind: 'bulk', reason: 'list-unsubscribe' },
  { name: 'GitHub notification', bytes: raw(githubNotification), kind: 'bulk', reason: 'list-id' },
  { name: 'Zendesk auto-acknowledgement', bytes: raw(zendeskAck), kind: 'autoReply', reason: 'auto-replied' },
  {
    name: 'Freshdesk auto-acknowledgement',
    bytes: raw(freshdeskAck),
    kind: 'autoReply',
    reason: 'auto-replied',
  },
  {
    name: 'human Outlook reply with X-MS-Exchange headers',
    bytes: raw(outlookHumanReply),
    kind: 'normal',
    reason: null,
  },
  {
    name: 'our own acknowledgement coming back',
    bytes: raw(ownAckComingBack),
    kind: 'ownMail',
    reason: 'generated by us',
  },
  {
    name: 'our Message-ID alone (relayed)',
    bytes: raw(ownIdOnlyThroughRelay),
    kind: 'ownMail',
    reason: 'generated by us',
  },
  { name: 'mail from our own address', bytes: raw(fromOwnMailbox), kind: 'ownMail', reason: 'own mailboxes' },
  {
    name: 'X-Auto-Response-Suppress: RN, NRN on a normal mail',
    bytes: raw(suppressReceiptsOnly),
    kind: 'normal',
    reason: 'weak signal',
  },
  {
    name: 'X-Auto-Response-Suppress: OOF, AutoReply',
    bytes: raw(suppressAutoReplies),
    kind: 'bulk',
    reason: 'not to be auto-answered',
  },
  { name: 'Precedence: junk', bytes: raw(precedenceJunk), kind: 'bulk', reason: 'precedence: junk' },
  { name: 'X-Autoreply: yes', bytes: raw(xAutoreply), kind: 'autoReply', reason: 'x-autoreply: yes' },
  {
    name: 'Return-Path <> without DSN',
    bytes: raw(nullReturnPath),
    kind: 'autoReply',
    reason: 'null sender',
  },
  {
    name: 'read receipt (disposition-notification)',
    bytes: raw(readReceipt),
    kind: 'autoReply',
    reason: 'read receipt',
  },
  {
    name: 'forwarded by an Exchange inbox rule',
    bytes: raw(ruleForwarded),
    kind: 'bulk',
    reason: 'mailbox rule',
  },
  { name: 'Auto-Submitted: no', bytes: raw(autoSubmittedNo), kind: 'normal', reason: null },
  {
    name: 'monitoring alert (auto-generated)',
    bytes: raw(monitoringAlert),
    kind: 'bulk',
    reason: 'auto-generated',
  },
  { name: 'a person forwarding an NDR', bytes: raw(forwardedNdr), kind: 'normal', reason: null },
  {
    name: 'a person writing "Out of office next week"',
    bytes: raw(humanOutOfOfficeWords),
    kind: 'normal',
    reason: null,
  },
  {
    name: 'X-Loop naming our mailbox',
    bytes: raw(xLoopOwn),
    kind: 'ownMail',
    reason: 'names our own mailbox',
  },
  { name: 'X-Loop of another processor', bytes: raw(xLoopForeign), kind: 'bulk', reason: 'X-Loop' },
  // Exchange and Outlook forms (Thread-Topic, rule headers, localised subjects), other responders
  {
    name: 'Exchange Online out-of-office (English), full header set',
    bytes: raw(exchangeOnlineOofEnglish),
    kind: 'autoReply',
    reason: 'Automatic reply',
  },
  {
    name: 'Exchange out-of-office in a language not listed, by its Thread-Topic',
    bytes: raw(exchangeOofUnlistedLanguage),
    kind: 'autoReply',
    reason: '"Balasan Otomatis:" before the conversation topic (Thread-Topic)',
  },
  {
    name: 'Exchange out-of-office (Japanese), subject only',
    bytes: raw(exchangeOofJapaneseSubjectOnly),
    kind: 'autoReply',
    reason: '自動応答',
  },
  {
    name: 'Outlook out-of-office (French, space before the colon)',
    bytes: raw(outlookOofFrench),
    kind: 'autoReply',
    reason: 'Réponse automatique',
  },
  {
    name: 'forwarded by an Exchange inbox rule (WG: + Thread-Topic + auto-generated)',
    bytes: raw(exchangeRuleForward),
    kind: 'bulk',
    reason: 'mailbox rule',
  },
  {
    name: 'forwarded by a Korean Exchange inbox rule (전달: is a MAPI prefix, not an answer)',
    bytes: raw(koreanRuleForward),
    kind: 'bulk',
    reason: 'mailbox rule',
  },
  {
    name: 'a person putting a word before the Thread-Topic',
    bytes: raw(humanEditedSubjectWithThreadTopic),
    kind: 'normal',
    reason: null,
  },
  {
    name: 'Sieve vacation responder "auto-replied (vacation)"',
    bytes: raw(sieveVacation),
    kind: 'autoReply',
    reason: 'Auto-Submitted: auto-replied (vacation)',
  },
  {
    name: 'Exchange NDR (German "Unzustellbar:")',
    bytes: raw(exchangeNdrGerman),
    kind: 'bounce',
    reason: 'X-MS-Exchange-Message-Is-Ndr',
  },
  {
    name: 'Exchange delivery receipt "Delivered:" (a delivery report too)',
    bytes: raw(exchangeDeliveryReceipt),
    kind: 'bounce',
    reason: 'report-type=delivery-status',
  },
  {
    name: 'Exchange "Not read:" notification',
    bytes: raw(exchangeNotRead),
    kind: 'autoReply',
    reason: 'disposition-notification',
  },
];

describe('classifyMail', () => {
  it.each(cases)('$name → $kind', async ({ bytes, kind, reason }) => {
    const result = classifyMail(await parsedMailFromSource(await bytes()), context);
    expect(result.kind).toBe(kind);
    if (reason === null) expect(result.reasons).toEqual([]);
    else expect(result.reasons.some((text) => text.toLowerCase().includes(reason.toLowerCase()))).toBe(true);
  });

  // The table reads mail through the test bridge; the import reads it through parseMail.
  it.each(cases)('$name → $kind through the production parser too', async ({ bytes, kind }) => {
    const parsed = await parseMail(await bytes(), {
      maxMessageBytes: 10_000_000,
      maxImageBytes: 1_000_000,
      maxImagesBytesPerMessage: 1_000_000,
    });
    expect(classifyMail(parsed, context).kind).toBe(kind);
  });

  it('lists every signal, not only the winning one', async () => {
    const result = classifyMail(await parsedMailFromSource(postfixBounce), context);
    expect(result.reasons).toEqual(
      expect.arrayContaining([
        expect.stringContaining('report-type=delivery-status'),
        expect.stringContaining('mailer-daemon@mail.example.net'),
        expect.stringContaining('Undelivered Mail Returned to Sender'),
        'Auto-Submitted: auto-replied',
        'Return-Path: <> (null sender)',
      ]),
    );
  });

  it('ranks ownMail over bounce over autoReply over bulk', async () => {
    const own = classifyMail(await parsedMailFromSource(ownAckComingBack), context);
    expect(own.kind).toBe('ownMail');
    expect(own.reasons).toContain('Auto-Submitted: auto-replied');
    const oof = classifyMail(await parsedMailFromSource(exchangeOofGerman), context);
    expect(oof.reasons).toEqual(
      expect.arrayContaining([expect.stringContaining('X-Auto-Response-Suppress')]),
    );
    expect(oof.kind).toBe('autoReply');
  });

  it('finds a delivery-status part even without a report content type', () => {
    const mail: ParsedMail = {
      ...emptyParsedMail(),
      mimeType: 'multipart/mixed',
      attachments: [
        {
          filename: null,
          contentType: 'message/delivery-status',
          detectedType: null,
          detectedFileType: null,
          size: 120,
          inline: false,
          contentId: null,
          sha256: '0'.repeat(64),
          content: null,
          reason: 'not an image',
          archivedAs: null,
        },
      ],
    };
    expect(classifyMail(mail, context)).toEqual({
      kind: 'bounce',
      reasons: ['contains a message/delivery-status part'],
    });
  });

  it('copes with a mail that has almost nothing', () => {
    expect(classifyMail(emptyParsedMail(), context)).toEqual({ kind: 'normal', reasons: [] });
  });

  it('does not take our Message-ID in References as our own mail', async () => {
    const mail = await parsedMailFromSource(outlookHumanReply);
    expect(mail.references).toContain(ownId);
    expect(classifyMail(mail, context).kind).toBe('normal');
  });
});

describe('own Message-IDs', () => {
  it('are deterministic per seed and distinct between seeds', () => {
    expect(createOwnMessageId('t-1/ack', 'helpdesk.example.com')).toBe(
      createOwnMessageId('t-1/ack', 'helpdesk.example.com'),
    );
    expect(createOwnMessageId('t-1/ack', 'helpdesk.example.com')).not.toBe(
      createOwnMessageId('t-2/ack', 'helpdesk.example.com'),
    );
  });

  it('have the product format and are header-safe whatever the seed', () => {
    const id = createOwnMessageId('ticket 5\r\nBcc: evil@x.example\0', 'Helpdesk.Example.com');
    expect(id).toMatch(/^<hmi\.[0-9a-f]{32}@helpdesk\.example\.com>$/);
  });

  it('refuse an empty seed and a domain that is not a host name', () => {
    expect(() => createOwnMessageId('', 'example.com')).toThrow(RangeError);
    expect(() => createOwnMessageId('x', 'example.com>\r\nBcc: a@b')).toThrow(RangeError);
    expect(() => createOwnMessageId('x', 'exa mple.com')).toThrow(RangeError);
  });

  it('are recognised with or without angle brackets, in any case of the domain', () => {
    expect(isOwnMessageId(ownId, 'helpdesk.example.com')).toBe(true);
    expect(isOwnMessageId(ownId.slice(1, -1), 'HELPDESK.example.com')).toBe(true);
    expect(isOwnMessageId(ownId, 'example.com')).toBe(false);
    expect(isOwnMessageId('<hmi.x@helpdesk.example.com.evil.example>', 'helpdesk.example.com')).toBe(false);
    expect(isOwnMessageId('<abc@helpdesk.example.com>', 'helpdesk.example.com')).toBe(false);
    expect(isOwnMessageId('<hmi.@helpdesk.example.com>', 'helpdesk.example.com')).toBe(false);
  });
});

describe('addresses', () => {
  it.each([
    ['noreply@example.com', true],
    ['no-reply@example.com', true],
    ['no_reply@example.com', true],
    ['do-not-reply@example.com', true],
    ['donotreply@example.com', true],
    ['DoNotReply@Example.com', true],
    ['calendar-noreply@google.com', true],
    ['noreply+abc@example.com', true],
    ['mailer-daemon@example.com', true],
    ['MAILER-DAEMON@example.com', true],
    ['postmaster@example.com', true],
    ['bounce@example.com', true],
    ['bounces+123@sendgrid.net', true],
    ['list-bounces@lists.example.com', true],
    ['tonyreply@example.com', false],
    ['reply@example.com', false],
    ['nora@example.com', false],
    ['bouncer.smith@example.com', false],
    ['anna.kowalska@klient.pl', false],
  ])('isNoReplyAddress(%s) = %s', (address, expected) => {
    expect(isNoReplyAddress(address)).toBe(expected);
  });

  it('knows delivery systems', () => {
    expect(isDeliverySystemAddress('Postmaster@contoso.com')).toBe(true);
    expect(isDeliverySystemAddress('noreply@contoso.com')).toBe(false);
  });
});

describe('mayBeAnswered', () => {
  const normal: Classification = { kind: 'normal', reasons: [] };
  const own = context.ownAddresses;

  it('answers a normal mail from a person', () => {
    expect(mayBeAnswered(normal, 'anna.kowalska@klient.pl', own)).toBe(true);
  });

  it.each(['autoReply', 'bounce', 'bulk', 'ownMail'] as const)('never answers %s', (kind) => {
    expect(mayBeAnswered({ kind, reasons: [] }, 'anna.kowalska@klient.pl', own)).toBe(false);
  });

  it.each([
    'noreply@shop.example',
    'MAILER-DAEMON@mx.example',
    'postmaster@x.example',
    'bounces@x.example',
    '',
  ])('never answers %j', (sender) => {
    expect(mayBeAnswered(normal, sender, own)).toBe(false);
  });

  it('never answers our own mailboxes', () => {
    expect(mayBeAnswered(normal, ' Helpdesk@Example.com ', own)).toBe(false);
  });

  it('never answers something that is not one address', () => {
    expect(mayBeAnswered(normal, 'a@b.example, c@d.example', own)).toBe(false);
  });
});

describe('fallbackMessageIdDomain', () => {
  it('defect: gives a valid own Message-ID domain for every helpdesk id the settings allow, "_" included', () => {
    const ids = ['help_desk', 'a..b', 'desk-', 'desk.', '9_9', 'Demo', 'demo', 'x'.repeat(64), 'a.b-c_d.E'];
    for (const id of ids) {
      expect(identifier.safeParse(id).success).toBe(true);
      const domain = fallbackMessageIdDomain(id);
      const messageId = createOwnMessageId(`record:${id}:newTicket`, domain);
      expect(isOwnMessageId(messageId, domain)).toBe(true);
    }
    // A plain host name stays as it was, so ids sent before keep being recognised.
    expect(fallbackMessageIdDomain('demo')).toBe('demo.helpdesk.invalid');
    expect(fallbackMessageIdDomain('help_desk')).not.toBe(fallbackMessageIdDomain('help-desk'));
  });
});
