import type { ParsedMail } from '../mail/parsedMail.js';
import type { RuleFacts } from './evaluateRules.js';

/** The facts rules look at, from a parsed mail and what the import found out about it. */
export function mailFacts(input: {
  parsed: ParsedMail;
  /** Worked out only when a rule looks at the body: on a hostile mail it is the costly part. */
  replyText: () => string;
  classification: string;
  senderKnown: boolean;
  ticketNumbers: number[];
  mailbox: { id: string; userId: string };
}): RuleFacts {
  const { parsed } = input;
  const addresses = (list: ParsedMail['to']) => list.map((a) => a.address).filter((a) => a !== '');
  return {
    from: parsed.from?.address || null,
    fromName: parsed.from?.name.trim() || null,
    to: addresses(parsed.to),
    cc: addresses(parsed.cc),
    replyTo: addresses(parsed.replyTo),
    subject: parsed.subject,
    get body() {
      return input.replyText();
    },
    fullText: parsed.text,
    headers: parsed.headers,
    attachmentNames: parsed.attachments
      .map((attachment) => attachment.filename)
      .filter((name): name is string => !!name),
    classification: input.classification,
    senderKnown: input.senderKnown,
    ticketNumbers: input.ticketNumbers,
    mailbox: [input.mailbox.id, input.mailbox.userId],
  };
}
