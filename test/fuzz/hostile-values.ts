import fc from 'fast-check';

/** Strings that have broken services: NUL, lone surrogates, prototype keys, path tricks, injections. */
export const HOSTILE_STRINGS = [
  '\u0000',
  'a\u0000b',
  '\ud800',
  'x\udfff',
  '\udc00\ud800',
  '__proto__',
  'constructor',
  'prototype',
  '../../etc/passwd',
  "' OR 1=1 --",
  '%00',
  '\\u0000',
  '{{7*7}}',
  '<script>alert(1)</script>',
  '',
  ' ',
  '\u202e\u2066',
  '0',
  '-1',
  '1e309',
  'NaN',
  'null',
  'true',
  '[]',
  '{}',
];

const oddChar = fc.constantFrom('\u0000', '\ud800', '\udfff', 'a', 'é', '😀', '\n', '"', '\\', '%', '\u2028');

/** One hostile string: a known bad one, a mix of odd characters, a huge one, or arbitrary code points. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...HOSTILE_STRINGS) },
  { weight: 3, arbitrary: fc.string({ unit: oddChar, minLength: 1, maxLength: 24 }) },
  { weight: 1, arbitrary: fc.constantFrom(2_000, 20_000, 300_000).map((n) => 'x'.repeat(n)) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
);

/** A value of the wrong type for most fields. */
export const wrongType: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(hostileString, { maxLength: 3 }),
  fc.constant(JSON.parse('{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}')),
  fc.dictionary(hostileString, fc.oneof(hostileString, fc.integer()), { maxKeys: 3 }),
  fc.constant(Number.MAX_SAFE_INTEGER + 2),
  fc.constant(-1),
);

/** Path segments and query values, already percent-encoded (a URL cannot carry a lone surrogate: its UTF-8-ish bytes). */
export const hostileUrlValue: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '%00',
    'a%00b',
    '%ED%A0%80',
    '%F0%9F',
    '%',
    '%E0%A4%A',
    '__proto__',
    'constructor',
    '%2e%2e',
    '..',
    '-1',
    '1e309',
    'null',
    '%C0%AF',
    '%FF',
  ),
  hostileString.filter((s) => s.length < 5000).map(encodeLoosely),
  fc.constantFrom(3000, 20_000).map((n) => 'y'.repeat(n)),
);

/** encodeURIComponent that does not throw on lone surrogates (encodes them as their CESU-8 bytes). */
export function encodeLoosely(s: string): string {
  let out = '';
  for (const ch of s) {
    const c = ch.charCodeAt(0);
    if (ch.length === 1 && c >= 0xd800 && c <= 0xdfff) {
      out +=
        `%${(0xe0 | (c >> 12)).toString(16)}%${(0x80 | ((c >> 6) & 0x3f)).toString(16)}%${(0x80 | (c & 0x3f)).toString(16)}`.toUpperCase();
    } else {
      out += encodeURIComponent(ch);
    }
  }
  return out;
}
