import { createSecretKey } from 'node:crypto';
import { JwtService } from '@nestjs/jwt';
import { jwtKey, jwtKeyOption } from 'src/auth/jwt-key';

describe('jwtKey', () => {
  const secret = 'a-test-secret-of-sufficient-length-0123456789';
  const jwt = new JwtService();
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');

  it('makes one secret KeyObject per secret', () => {
    expect(jwtKey(secret)).toBe(jwtKey(secret));
    expect(jwtKey(secret).type).toBe('secret');
    expect(jwtKey(secret).equals(createSecretKey(Buffer.from(secret)))).toBe(true);
    expect(jwtKey(`${secret}!`).equals(jwtKey(secret))).toBe(false);
  });

  it('signs and verifies exactly as the string secret does (HS256), and refuses anything signed otherwise', () => {
    const opts = { algorithm: 'HS256' as const, noTimestamp: true };
    const byString = jwt.sign({ sub: 'u' }, { ...opts, secret });
    expect(jwt.sign({ sub: 'u' }, { ...opts, secret: jwtKeyOption(secret) })).toBe(byString);
    expect(jwt.verify<{ sub: string }>(byString, { secret: jwtKeyOption(secret), algorithms: ['HS256'] }).sub).toBe(
      'u',
    );
    const other = jwt.sign({ sub: 'u' }, { ...opts, secret: `${secret}!` });
    expect(() => jwt.verify(other, { secret: jwtKeyOption(secret), algorithms: ['HS256'] })).toThrow(
      /invalid signature/,
    );
    const unsigned = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'u' })}.`;
    expect(() => jwt.verify(unsigned, { secret: jwtKeyOption(secret), algorithms: ['HS256'] })).toThrow();
  });
});
