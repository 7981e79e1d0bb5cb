import type { FieldError } from 'src/common/errors/app-error';
import { ChatErrors } from 'src/chats/chats.errors';

const METADATA_MAX_BYTES = 16 * 1024;

/** `metadata` is free-form JSON, except `tags` (strings) and `priority` (a string); at most 16 KiB. */
export function assertValidMetadata(metadata: Record<string, unknown> | undefined): void {
  if (!metadata) return;
  const problems: FieldError[] = [];
  const { tags, priority } = metadata;
  if (
    tags !== undefined &&
    (!Array.isArray(tags) || tags.some((t) => typeof t !== 'string' || t.length > 100) || tags.length > 50)
  ) {
    problems.push({
      field: 'metadata.tags',
      message: 'metadata.tags must be an array of at most 50 strings of at most 100 characters',
    });
  }
  if (priority !== undefined && (typeof priority !== 'string' || priority.length > 50)) {
    problems.push({
      field: 'metadata.priority',
      message: 'metadata.priority must be a string of at most 50 characters',
    });
  }
  if (Buffer.byteLength(JSON.stringify(metadata)) > METADATA_MAX_BYTES) {
    problems.push({ field: 'metadata', message: 'metadata must be at most 16 KiB of JSON' });
  }
  if (problems.length) throw ChatErrors.invalidMetadata(problems);
}
