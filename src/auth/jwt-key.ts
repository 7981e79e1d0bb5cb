import { createSecretKey, KeyObject } from 'node:crypto';

const keys = new Map<string, KeyObject>();

/**
 * The HS256 secret as a `KeyObject`, made once per secret. Given a string, jsonwebtoken first tries
 * `createPublicKey` on it (which throws) and only then `createSecretKey`, on every sign and verify: ~1 ms of
 * CPU per authenticated request, the largest item of the request path in a profile at 200 concurrent sends.
 * jsonwebtoken accepts a KeyObject (its `Secret` type includes it); the wrappers' option types
 * (@nestjs/jwt, passport-jwt) say `string | Buffer`, hence the cast at the call sites.
 */
export function jwtKey(secret: string): KeyObject {
  let key = keys.get(secret);
  if (!key) {
    key = createSecretKey(Buffer.from(secret, 'utf8'));
    keys.set(secret, key);
  }
  return key;
}

/** `jwtKey` typed as the wrappers' option types expect (see above). */
export const jwtKeyOption = (secret: string): Buffer => jwtKey(secret) as unknown as Buffer;
