import { SecretBox, SecretBoxError } from 'src/common/crypto/secret-box.service';

const key = (n: number) => Buffer.alloc(32, n);
const box = (keys: Record<string, Buffer>, activeKeyId: string) => new SecretBox({ crypto: { keys, activeKeyId } });

describe('SecretBox', () => {
  const k1 = box({ k1: key(1) }, 'k1');

  it('round-trips a secret through a v1 envelope that does not contain the plaintext', () => {
    const env = k1.encrypt('sk-live-abcdef');
    expect(env).toMatch(/^v1:k1:[A-Za-z0-9_-]{16}:[A-Za-z0-9_-]{22}:[A-Za-z0-9_-]+$/);
    expect(env).not.toContain('sk-live');
    expect(k1.decrypt(env)).toBe('sk-live-abcdef');
  });

  it('uses a fresh IV each time: the same secret gives different envelopes', () => {
    expect(k1.encrypt('same')).not.toBe(k1.encrypt('same'));
  });

  it('round-trips empty and non-ASCII secrets', () => {
    expect(k1.decrypt(k1.encrypt(''))).toBe('');
    expect(k1.decrypt(k1.encrypt('clé-🔑'))).toBe('clé-🔑');
  });

  it('refuses a tampered ciphertext, tag or iv', () => {
    const env = k1.encrypt('sk-live-abcdef');
    const parts = env.split(':');
    for (const i of [2, 3, 4]) {
      const bytes = Buffer.from(parts[i], 'base64url');
      bytes[0] ^= 1;
      const tampered = [...parts];
      tampered[i] = bytes.toString('base64url');
      expect(() => k1.decrypt(tampered.join(':'))).toThrow(SecretBoxError);
    }
  });

  it('refuses an envelope whose key id was changed to another configured key', () => {
    const two = box({ k1: key(1), k2: key(2) }, 'k1');
    const env = two.encrypt('x').replace(/^v1:k1:/, 'v1:k2:');
    expect(() => two.decrypt(env)).toThrow(/failed authentication/);
  });

  it('refuses an unknown key id', () => {
    const other = box({ k9: key(9) }, 'k9');
    expect(() => k1.decrypt(other.encrypt('x'))).toThrow(/unknown encryption key id "k9"/);
  });

  it('refuses the right key id with the wrong key material', () => {
    const impostor = box({ k1: key(3) }, 'k1');
    expect(() => k1.decrypt(impostor.encrypt('x'))).toThrow(SecretBoxError);
  });

  it('refuses malformed envelopes without echoing them', () => {
    for (const bad of ['', 'plain-secret', 'v2:k1:a:b:c', 'v1:k1:abc:def', 'v1:k1:!!:??:..']) {
      expect(() => k1.decrypt(bad)).toThrow(SecretBoxError);
    }
    try {
      k1.decrypt('v1:k1:plain-secret-value');
    } catch (e) {
      expect((e as Error).message).not.toContain('plain-secret-value');
    }
  });

  it('rotates: the new active key encrypts, the old key still decrypts, reencrypt moves to the new key', () => {
    const old = k1.encrypt('rotate-me');
    const rotated = box({ k2: key(2), k1: key(1) }, 'k2');
    expect(rotated.decrypt(old)).toBe('rotate-me');
    expect(rotated.needsReencrypt(old)).toBe(true);
    const fresh = rotated.reencrypt(old);
    expect(rotated.keyIdOf(fresh)).toBe('k2');
    expect(rotated.needsReencrypt(fresh)).toBe(false);
    expect(rotated.decrypt(fresh)).toBe('rotate-me');
    // once the old key is dropped, only re-encrypted envelopes open
    const k2only = box({ k2: key(2) }, 'k2');
    expect(k2only.decrypt(fresh)).toBe('rotate-me');
    expect(() => k2only.decrypt(old)).toThrow(SecretBoxError);
  });

  it('refuses to start when the active key is not configured or a key is not 32 bytes', () => {
    expect(() => box({ k1: key(1) }, 'k2')).toThrow(/active encryption key "k2"/);
    expect(() => box({ k1: Buffer.alloc(16) }, 'k1')).toThrow(/32 bytes/);
  });
});
