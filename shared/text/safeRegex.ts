import { RE2JS } from 're2js';

/**
 * Regular expressions written by administrators (subject patterns, later the rules), run by RE2 (the
 * re2js port): matching takes time linear in the input whatever the pattern, so a pattern such as
 * `#((?:\d+)+)x` cannot make a hostile subject backtrack for minutes. RE2 has no lookaround and no
 * backreferences; a pattern using them is refused when it is saved, with the reason.
 */

/** Longest pattern accepted; a longer one is not a subject pattern but a program. */
export const MAX_PATTERN_LENGTH = 200;

export interface SafeRegexOptions {
  /** Case-insensitive matching (default true). */
  ignoreCase?: boolean;
  /** Capture groups the pattern must have at least (default 0). */
  groups?: number;
}

export interface SafeRegexMatch {
  index: number;
  /** The capture groups, 1-based as in the pattern: `groups[0]` is group 1; null when it took no part. */
  groups: Array<string | null>;
}

export class SafeRegex {
  private readonly compiled: RE2JS;

  private constructor(compiled: RE2JS) {
    this.compiled = compiled;
  }

  /** Compiles a pattern, or throws UnsafePatternError saying why it cannot be used. */
  static compile(source: string, options: SafeRegexOptions = {}): SafeRegex {
    if (source.length > MAX_PATTERN_LENGTH) {
      throw new UnsafePatternError(`must be at most ${MAX_PATTERN_LENGTH} characters`);
    }
    let compiled: RE2JS;
    try {
      compiled = RE2JS.compile(
        RE2JS.translateRegExp(source),
        options.ignoreCase === false ? 0 : RE2JS.CASE_INSENSITIVE,
      );
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new UnsafePatternError(
        `must be a regular expression the linear-time engine accepts (no lookaround or backreferences): ${reason}`,
      );
    }
    const wanted = options.groups ?? 0;
    if (compiled.groupCount() < wanted) {
      throw new UnsafePatternError(
        `must have ${wanted === 1 ? 'a capture group' : `${wanted} capture groups`}`,
      );
    }
    return new SafeRegex(compiled);
  }

  test(text: string): boolean {
    return this.compiled.test(text);
  }

  /** Every match, left to right, without overlaps. */
  *matchAll(text: string): Generator<SafeRegexMatch> {
    const matcher = this.compiled.matcher(text);
    const count = this.compiled.groupCount();
    while (matcher.find()) {
      const groups: Array<string | null> = [];
      for (let group = 1; group <= count; group++) groups.push(matcher.group(group));
      yield { index: matcher.start(), groups };
    }
  }
}

export class UnsafePatternError extends Error {
  override readonly name = 'UnsafePatternError';
}

/** Why the pattern cannot be used, or null when it can: for validating settings as they are saved. */
export function patternProblem(source: string, options: SafeRegexOptions = {}): string | null {
  try {
    SafeRegex.compile(source, options);
    return null;
  } catch (error) {
    if (error instanceof UnsafePatternError) return error.message;
    throw error;
  }
}
