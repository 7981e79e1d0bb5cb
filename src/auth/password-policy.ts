import { COMMON_PASSWORDS } from 'src/auth/common-passwords';
import type { FieldError } from 'src/common/errors/app-error';

export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 128;

const COMMON = new Set(COMMON_PASSWORDS.map((p) => p.toLowerCase()));

/**
 * The password rules (NIST 800-63B style: length, not a known-common password, not derived from the
 * email). Returns the problems as field errors; empty when acceptable.
 */
export function checkPassword(password: string, email: string, field = 'password'): FieldError[] {
  const errors: FieldError[] = [];
  const length = [...password].length;
  if (length < PASSWORD_MIN) errors.push({ field, message: `password must be at least ${PASSWORD_MIN} characters` });
  if (length > PASSWORD_MAX) errors.push({ field, message: `password must be at most ${PASSWORD_MAX} characters` });
  const lower = password.toLowerCase();
  if (COMMON.has(lower)) errors.push({ field, message: 'password is too common; choose a less guessable one' });
  const local = email.split('@')[0]?.toLowerCase() ?? '';
  if (local.length >= 3 && lower.includes(local))
    errors.push({ field, message: 'password must not contain your email address' });
  return errors;
}
