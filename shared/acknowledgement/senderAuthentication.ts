import { getDomain } from 'tldts';

/**
 * Whether the receiving organisation authenticated a mail's From address (RFC 8601 Authentication-Results,
 * RFC 7489 DMARC alignment). Only then may we answer it: an acknowledgement to a forged From is
 * backscatter, mail we send to a victim on an attacker's behalf. All pure.
 *
 * Which header to trust: every server on the way may add an Authentication-Results header, and so may the
 * sender, who can write anything into the mail before it reaches us. Headers are added on top, so the
 * topmost one is the last hop's: Exchange Online Protection stamps it when the mail enters the tenant, and
 * every header an outsider wrote sits below it. EOP writes it without an authserv-id
 * (`Authentication-Results: spf=pass (sender IP is …) smtp.mailfrom=…; dkim=pass …; dmarc=pass …`), so the
 * id cannot be the test in Microsoft 365; position is. Where the receiving server does name itself, the
 * helpdesk can list its authserv-ids and the topmost header must then carry one of them. A lower header is
 * never read, even when it names our server: it may be a forgery that our server did not replace.
 */

export interface AuthenticationResult {
  /** e.g. dmarc, spf, dkim, compauth (lower case, version dropped). */
  method: string;
  /** e.g. pass, fail, none (lower case). */
  result: string;
  /** Properties such as header.from, smtp.mailfrom, header.d (names lower case). */
  properties: Record<string, string>;
}

export interface AuthenticationResultsHeader {
  /** Lower-cased authserv-id, or null when the header starts with a result (Exchange Online's form). */
  authservId: string | null;
  results: AuthenticationResult[];
}

/** Removes RFC 5322 comments (nested parentheses, backslash escapes) in one pass. */
function withoutComments(value: string): string {
  let depth = 0;
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const char = value[i];
    if (char === '\\' && depth > 0) {
      i++;
      continue;
    }
    if (char === '(') depth++;
    else if (char === ')' && depth > 0) depth--;
    else if (depth === 0) out += char;
  }
  return out;
}

function unquote(value: string): string {
  return value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
}

function parseResult(segment: string): AuthenticationResult | null {
  const tokens = segment.trim().split(/\s+/).filter(Boolean);
  const head = tokens.shift();
  const match = head ? /^([a-z0-9_-]+)(?:\/\d+)?=([a-z0-9_-]+)$/i.exec(head) : null;
  if (!match?.[1] || !match[2]) return null;
  const properties: Record<string, string> = {};
  for (const token of tokens) {
    const equals = token.indexOf('=');
    if (equals <= 0) continue;
    properties[token.slice(0, equals).toLowerCase()] = unquote(token.slice(equals + 1));
  }
  return { method: match[1].toLowerCase(), result: match[2].toLowerCase(), properties };
}

/** Parses one Authentication-Results header value; null when it is not one. */
export function parseAuthenticationResults(value: string): AuthenticationResultsHeader | null {
  const segments = withoutComments(value).split(';');
  const first = (segments[0] ?? '').trim();
  if (first === '') return null;
  let authservId: string | null = null;
  if (!first.includes('=')) {
    // "authserv-id [version]"; the rest are results, or the single word "none".
    authservId = first.split(/\s+/)[0]?.toLowerCase() ?? null;
    segments.shift();
  }
  const results = segments
    .filter((segment) => segment.trim().toLowerCase() !== 'none')
    .map(parseResult)
    .filter((result): result is AuthenticationResult => result !== null);
  return { authservId, results };
}

function domainOf(addressOrDomain: string | undefined): string | null {
  if (!addressOrDomain) return null;
  const domain = addressOrDomain
    .slice(addressOrDomain.lastIndexOf('@') + 1)
    .trim()
    .toLowerCase();
  return domain.replace(/\.$/, '') || null;
}

/** DMARC relaxed alignment: the same organisational domain (registrable domain by the Public Suffix List). */
function aligned(domain: string | null, fromDomain: string): boolean {
  if (!domain) return false;
  if (domain === fromDomain) return true;
  const organisational = getDomain(fromDomain);
  return organisational !== null && getDomain(domain) === organisational;
}

export interface SenderAuthenticationInput {
  /** Every Authentication-Results header of the mail, topmost first, as parsed from the MIME. */
  authenticationResults: string[];
  /** The From address the acknowledgement would go to. */
  fromAddress: string;
  /** Authserv-ids of the receiving organisation; empty: the topmost header is trusted by its position. */
  trustedAuthservIds: string[];
}

export interface SenderAuthenticationVerdict {
  authenticated: boolean;
  reason: string;
}

/** DMARC pass for the From domain, or an SPF or DKIM pass aligned with it, in the trusted header. */
export function senderAuthentication(input: SenderAuthenticationInput): SenderAuthenticationVerdict {
  const fromDomain = domainOf(input.fromAddress);
  if (!fromDomain) return { authenticated: false, reason: 'no From domain' };
  const topmost = input.authenticationResults[0];
  const header = topmost === undefined ? null : parseAuthenticationResults(topmost);
  if (!header) return { authenticated: false, reason: 'no Authentication-Results from the receiving server' };
  const trusted = input.trustedAuthservIds.map((id) => id.toLowerCase());
  if (trusted.length > 0 && (header.authservId === null || !trusted.includes(header.authservId))) {
    return {
      authenticated: false,
      reason: `topmost Authentication-Results is from ${header.authservId ?? 'an unnamed server'}, not the receiving organisation`,
    };
  }
  const passed = (method: string) =>
    header.results.filter((result) => result.method === method && result.result === 'pass');
  if (passed('dmarc').some((result) => domainOf(result.properties['header.from']) === fromDomain)) {
    return { authenticated: true, reason: `dmarc=pass for ${fromDomain}` };
  }
  if (passed('dkim').some((result) => aligned(domainOf(result.properties['header.d']), fromDomain))) {
    return { authenticated: true, reason: `dkim=pass aligned with ${fromDomain}` };
  }
  if (passed('spf').some((result) => aligned(domainOf(result.properties['smtp.mailfrom']), fromDomain))) {
    return { authenticated: true, reason: `spf=pass aligned with ${fromDomain}` };
  }
  return { authenticated: false, reason: `no dmarc, or aligned spf or dkim, pass for ${fromDomain}` };
}

/**
 * The address the per-sender limits count under: lower case, without a plus tag, so that
 * victim+1@ and Victim+2@ share victim@'s limit.
 */
export function normalisedSenderAddress(address: string): string {
  const lower = address.trim().toLowerCase();
  const at = lower.lastIndexOf('@');
  if (at <= 0) return lower;
  const local = lower.slice(0, at);
  const plus = local.indexOf('+');
  return `${plus > 0 ? local.slice(0, plus) : local}${lower.slice(at)}`;
}
