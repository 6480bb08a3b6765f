/** Checks for values that go into headers of mail we send (R24). */

/**
 * Line breaks (CR, LF and the Unicode ones), NUL and the other control characters except TAB.
 * Any of them in a header value can end the header early and start a forged one.
 */
function isUnsafe(codePoint: number): boolean {
  return (
    (codePoint <= 0x1f && codePoint !== 0x09) ||
    codePoint === 0x7f ||
    codePoint === 0x85 ||
    codePoint === 0x2028 ||
    codePoint === 0x2029
  );
}

function hasUnsafe(value: string): boolean {
  for (const char of value) if (isUnsafe(char.codePointAt(0) ?? 0)) return true;
  return false;
}

/** One plain address: no display name, no list, no brackets, no comment. */
const PLAIN_ADDRESS = /^[^\s@<>()[\]\\,;:"]+@[^\s@<>()[\]\\,;:"]+$/u;
/**
 * One Message-ID: printable ASCII without spaces or angle brackets inside one pair of brackets.
 * Looser than RFC 5322 on purpose: real clients send ids like <a@b@c> that we still thread on.
 */
const MESSAGE_ID = /^<[\x21-\x3b\x3d\x3f-\x7e]+>$/;

export class HeaderInjectionError extends Error {
  override readonly name = 'HeaderInjectionError';
  readonly header: string;

  constructor(header: string, problem: string) {
    // The offending value is left out of the message so it cannot forge log lines either.
    super(`unsafe value for mail header ${header}: ${problem}`);
    this.header = header;
  }
}

export function assertHeaderSafe(name: string, value: string): void {
  if (hasUnsafe(value)) throw new HeaderInjectionError(name, 'contains a line break or control character');
}

export function isPlainAddress(address: string): boolean {
  return !hasUnsafe(address) && PLAIN_ADDRESS.test(address);
}

export function assertPlainAddress(name: string, address: string): void {
  assertHeaderSafe(name, address);
  if (!PLAIN_ADDRESS.test(address)) throw new HeaderInjectionError(name, 'is not one plain mail address');
}

export function isMessageId(id: string): boolean {
  return MESSAGE_ID.test(id);
}

export function assertMessageId(name: string, id: string): void {
  assertHeaderSafe(name, id);
  if (!isMessageId(id)) throw new HeaderInjectionError(name, 'is not one <…> message id');
}

/** Turns text meant for one header line into one line: control runs become a space. */
export function flattenHeaderText(value: string): string {
  let flat = '';
  let inRun = false;
  for (const char of value) {
    const unsafe = isUnsafe(char.codePointAt(0) ?? 0);
    if (!unsafe) flat += char;
    else if (!inRun) flat += ' ';
    inRun = unsafe;
  }
  return flat.replace(/[ \t]{2,}/g, ' ').trim();
}
