import { describe, expect, it } from 'vitest';
import {
  normalisedSenderAddress,
  parseAuthenticationResults,
  senderAuthentication,
} from '../../shared/acknowledgement/senderAuthentication.js';

/** As Exchange Online Protection stamps them: no authserv-id, comments, ";" with and without a space. */
const EOP_PASS =
  'spf=pass (sender IP is 209.85.128.41) smtp.mailfrom=customer.example; dkim=pass (signature was verified) header.d=customer.example;dmarc=pass action=none header.from=customer.example;compauth=pass reason=100';
const EOP_SPOOFED =
  'spf=fail (sender IP is 198.51.100.7) smtp.mailfrom=victim.example; dkim=none (message not signed) header.d=none;dmarc=fail action=quarantine header.from=victim.example;compauth=fail reason=000';
const EOP_DKIM_SUBDOMAIN =
  'spf=softfail (sender IP is 198.51.100.8) smtp.mailfrom=bounces.esp.example; dkim=pass (signature was verified) header.d=mail.customer.co.uk;dmarc=bestguesspass action=none header.from=customer.co.uk;compauth=pass reason=109';
const EOP_SPF_ONLY_UNALIGNED =
  'spf=pass (sender IP is 203.0.113.9) smtp.mailfrom=attacker.example; dkim=none (message not signed) header.d=none;dmarc=none action=none header.from=victim.example;compauth=none reason=405';

function verdict(headers: string[], fromAddress: string, trustedAuthservIds: string[] = []) {
  return senderAuthentication({ authenticationResults: headers, fromAddress, trustedAuthservIds });
}

describe('parseAuthenticationResults', () => {
  it('reads Exchange Online’s header, which names no authserv-id', () => {
    const parsed = parseAuthenticationResults(EOP_PASS);
    expect(parsed?.authservId).toBeNull();
    expect(parsed?.results.map((r) => `${r.method}=${r.result}`)).toEqual([
      'spf=pass',
      'dkim=pass',
      'dmarc=pass',
      'compauth=pass',
    ]);
    expect(parsed?.results[2]?.properties['header.from']).toBe('customer.example');
  });

  it('reads an RFC 8601 header with an authserv-id, a version and a comment holding ";" and "="', () => {
    const parsed = parseAuthenticationResults(
      'mx.google.com 1; dkim=pass header.i=@customer.example header.s=s1 header.b="Xy1+/z"; spf=pass (google.com: domain of a@customer.example designates 1.2.3.4; x=y) smtp.mailfrom=a@customer.example',
    );
    expect(parsed?.authservId).toBe('mx.google.com');
    expect(parsed?.results.map((r) => r.method)).toEqual(['dkim', 'spf']);
    expect(parsed?.results[1]?.properties['smtp.mailfrom']).toBe('a@customer.example');
  });

  it('reads "none"', () => {
    expect(parseAuthenticationResults('mx.contoso.com; none')).toEqual({
      authservId: 'mx.contoso.com',
      results: [],
    });
  });
});

describe('senderAuthentication', () => {
  it('accepts a DMARC pass for the From domain', () => {
    expect(verdict([EOP_PASS], 'anna@Customer.Example')).toEqual({
      authenticated: true,
      reason: 'dmarc=pass for customer.example',
    });
  });

  it('backscatter: refuses a forged From that failed DMARC', () => {
    expect(verdict([EOP_SPOOFED], 'ceo@victim.example').authenticated).toBe(false);
  });

  it('backscatter: refuses an SPF pass for the attacker’s own envelope domain (not aligned with From)', () => {
    expect(verdict([EOP_SPF_ONLY_UNALIGNED], 'ceo@victim.example').authenticated).toBe(false);
  });

  it('accepts a DKIM pass of a subdomain of the From’s organisational domain (relaxed alignment)', () => {
    expect(verdict([EOP_DKIM_SUBDOMAIN], 'anna@customer.co.uk')).toEqual({
      authenticated: true,
      reason: 'dkim=pass aligned with customer.co.uk',
    });
  });

  it('backscatter: a DKIM pass for a public suffix is not aligned with a domain under it', () => {
    const header =
      'dkim=pass (signature was verified) header.d=co.uk;dmarc=none action=none header.from=victim.co.uk';
    expect(verdict([header], 'ceo@victim.co.uk').authenticated).toBe(false);
  });

  it('backscatter: a forged passing header below the receiving server’s own is never read', () => {
    // The attacker wrote the lower header into the mail; EOP added the topmost one on arrival.
    const forged =
      'spf=pass (sender IP is 1.2.3.4) smtp.mailfrom=victim.example; dkim=pass header.d=victim.example;dmarc=pass action=none header.from=victim.example';
    expect(verdict([EOP_SPOOFED, forged], 'ceo@victim.example').authenticated).toBe(false);
  });

  it('refuses mail with no Authentication-Results at all', () => {
    expect(verdict([], 'anna@customer.example')).toEqual({
      authenticated: false,
      reason: 'no Authentication-Results from the receiving server',
    });
  });

  it('with trusted authserv-ids, the topmost header must name one of them', () => {
    const ours = 'mx.helpdesk.example; dmarc=pass header.from=customer.example';
    const theirs = 'mx.attacker.example; dmarc=pass header.from=victim.example';
    expect(verdict([ours], 'anna@customer.example', ['MX.helpdesk.example']).authenticated).toBe(true);
    expect(verdict([theirs, ours], 'ceo@victim.example', ['mx.helpdesk.example'])).toEqual({
      authenticated: false,
      reason: expect.stringContaining('mx.attacker.example'),
    });
    expect(verdict([EOP_PASS], 'anna@customer.example', ['mx.helpdesk.example']).authenticated).toBe(false);
  });
});

describe('normalisedSenderAddress', () => {
  it.each([
    ['Victim+1@Example.com', 'victim@example.com'],
    ['victim+a+b@example.com', 'victim@example.com'],
    ['  victim@EXAMPLE.com ', 'victim@example.com'],
    ['+tag@example.com', '+tag@example.com'],
  ])('%s → %s', (address, expected) => {
    expect(normalisedSenderAddress(address)).toBe(expected);
  });
});
