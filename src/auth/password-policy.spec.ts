import { checkPassword } from 'src/auth/password-policy';

describe('password policy', () => {
  it('accepts a long uncommon password', () => {
    expect(checkPassword('correct horse battery staple', 'ada@example.com')).toEqual([]);
  });
  it('refuses passwords shorter than 8 or longer than 128 characters', () => {
    expect(checkPassword('Ab1!xyz', 'ada@example.com')[0].message).toMatch(/at least 8/);
    expect(checkPassword('x'.repeat(129), 'ada@example.com')[0].message).toMatch(/at most 128/);
  });
  it('refuses a common password whatever its case', () => {
    expect(checkPassword('PassWord123', 'ada@example.com')[0].message).toMatch(/too common/);
    expect(checkPassword('qwertyuiop', 'ada@example.com')[0].message).toMatch(/too common/);
  });
  it("refuses a password containing the email's local part", () => {
    expect(checkPassword('xx-Lovelace-2026', 'lovelace@example.com')[0].message).toMatch(/email/);
  });
});
