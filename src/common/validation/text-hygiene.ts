/** A NUL character, or a UTF-16 surrogate that is not part of a pair (cannot be encoded as UTF-8). */
// eslint-disable-next-line no-control-regex -- NUL is what it looks for
const UNSAFE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Why a string cannot be stored or passed on as text, or null when it can. */
export function unsafeTextReason(value: string): string | null {
  const m = UNSAFE.exec(value);
  if (!m) return null;
  return m[0] === '\u0000'
    ? 'must not contain NUL characters'
    : 'must not contain unpaired UTF-16 surrogates (invalid Unicode)';
}

export function isWellFormedText(value: string): boolean {
  return !UNSAFE.test(value);
}
