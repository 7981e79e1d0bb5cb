import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from 'src/config/env';

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_ID = /^[A-Za-z0-9_.-]{1,64}$/;

/** Raised for any envelope that cannot be opened. Its message never contains key material or plaintext. */
export class SecretBoxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SecretBoxError';
  }
}

/**
 * Secrets at rest: AES-256-GCM under a key from config (`ENCRYPTION_KEYS` / `ENCRYPTION_KEY`).
 *
 * Envelope: `v1:<keyId>:<iv>:<tag>:<ciphertext>`, the last three base64url. A fresh random 96-bit IV per
 * encryption; the version and key id are authenticated as additional data, so an envelope whose key id was
 * edited does not open. `activeKeyId` encrypts, every configured key decrypts: rotate by adding a new key
 * first in ENCRYPTION_KEYS, then `reencrypt` the stored envelopes, then drop the old key.
 */
@Injectable()
export class SecretBox {
  private readonly keys: ReadonlyMap<string, Buffer>;
  private readonly activeKeyId: string;

  constructor(@Inject(APP_CONFIG) config: Pick<AppConfig, 'crypto'>) {
    const entries = Object.entries(config.crypto.keys);
    for (const [id, key] of entries) {
      if (!KEY_ID.test(id)) throw new SecretBoxError(`encryption key id "${id}" must match ${KEY_ID.source}`);
      if (key.length !== 32) throw new SecretBoxError(`encryption key "${id}" must be 32 bytes`);
    }
    this.keys = new Map(entries);
    this.activeKeyId = config.crypto.activeKeyId;
    if (!this.keys.has(this.activeKeyId))
      throw new SecretBoxError(`active encryption key "${this.activeKeyId}" is not configured`);
  }

  get activeKey(): string {
    return this.activeKeyId;
  }

  encrypt(plain: string): string {
    const key = this.keys.get(this.activeKeyId) as Buffer;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(aad(this.activeKeyId));
    const ct = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    const tag = cipher.getAuthTag();
    return [VERSION, this.activeKeyId, b64(iv), b64(tag), b64(ct)].join(':');
  }

  decrypt(envelope: string): string {
    const { keyId, iv, tag, ct } = parse(envelope);
    const key = this.keys.get(keyId);
    if (!key) throw new SecretBoxError(`unknown encryption key id "${keyId}"`);
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(aad(keyId));
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(ct), decipher.final()]).toString('utf8');
    } catch {
      throw new SecretBoxError('secret envelope failed authentication (tampered, or wrong key)');
    }
  }

  /** The key id an envelope was sealed with (without opening it). */
  keyIdOf(envelope: string): string {
    return parse(envelope).keyId;
  }

  /** True when the envelope is not sealed with the active key (rotation pending). */
  needsReencrypt(envelope: string): boolean {
    return this.keyIdOf(envelope) !== this.activeKeyId;
  }

  /** Opens an envelope with whatever configured key sealed it and seals it again with the active key. */
  reencrypt(envelope: string): string {
    return this.encrypt(this.decrypt(envelope));
  }
}

function aad(keyId: string): Buffer {
  return Buffer.from(`${VERSION}:${keyId}`, 'utf8');
}

function b64(buf: Buffer): string {
  return buf.toString('base64url');
}

function parse(envelope: string): { keyId: string; iv: Buffer; tag: Buffer; ct: Buffer } {
  const parts = typeof envelope === 'string' ? envelope.split(':') : [];
  if (parts.length !== 5 || parts[0] !== VERSION) throw new SecretBoxError('not a v1 secret envelope');
  const [, keyId, iv, tag, ct] = parts;
  const b64url = /^[A-Za-z0-9_-]*$/;
  if (!KEY_ID.test(keyId) || ![iv, tag, ct].every((p) => b64url.test(p)))
    throw new SecretBoxError('malformed secret envelope');
  const out = {
    keyId,
    iv: Buffer.from(iv, 'base64url'),
    tag: Buffer.from(tag, 'base64url'),
    ct: Buffer.from(ct, 'base64url'),
  };
  if (out.iv.length !== IV_BYTES || out.tag.length !== TAG_BYTES) throw new SecretBoxError('malformed secret envelope');
  return out;
}
