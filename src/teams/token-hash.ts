import { createHash, randomBytes } from 'node:crypto';

/** Opaque secrets (refresh tokens, invite tokens) are stored only as their SHA-256. */
export const sha256Hex = (value: string): string => createHash('sha256').update(value).digest('hex');

/** 256 bits of randomness, URL-safe. */
export const randomToken = (): string => randomBytes(32).toString('base64url');
