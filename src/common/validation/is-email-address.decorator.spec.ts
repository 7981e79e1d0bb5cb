import { validate } from 'class-validator';
import { IsEmailAddress } from 'src/common/validation/is-email-address.decorator';
import { unsafeTextReason } from 'src/common/validation/text-hygiene';

class Probe {
  @IsEmailAddress() email: unknown;
}

const check = (email: unknown) => validate(Object.assign(new Probe(), { email }));

describe('IsEmailAddress', () => {
  it('refuses a lone surrogate as a validation error instead of throwing URIError (class-validator IsEmail throws)', async () => {
    for (const bad of ['\ud800', 'a\udc00@example.com', 'x@\ud83d.com']) {
      const errors = await check(bad);
      expect(errors.map((e) => e.constraints)).toEqual([{ isEmail: 'email must be an email' }]);
    }
  });

  it('accepts ordinary addresses and refuses non-strings', async () => {
    expect(await check('ada@example.com')).toEqual([]);
    expect(await check(42)).toHaveLength(1);
    expect(await check('not-an-email')).toHaveLength(1);
  });
});

describe('unsafeTextReason', () => {
  it('finds NUL and unpaired surrogates, not pairs', () => {
    expect(unsafeTextReason('a\u0000')).toMatch(/NUL/);
    expect(unsafeTextReason('\ud800x')).toMatch(/surrogate/);
    expect(unsafeTextReason('x\udfff')).toMatch(/surrogate/);
    expect(unsafeTextReason('👋 Grüße')).toBeNull();
  });
});
