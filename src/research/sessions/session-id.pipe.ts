import { Injectable, PipeTransform } from '@nestjs/common';
import { ResearchErrors } from 'src/research/research.errors';

/** A client-chosen session id: a UUID or a safe slug (letters, digits, `-`, `_`; 1..100 characters). */
export const SESSION_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/;

@Injectable()
export class SessionIdPipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (typeof value !== 'string' || !SESSION_ID_PATTERN.test(value)) throw ResearchErrors.invalidSessionId();
    return value;
  }
}
