import { AppError } from 'src/common/errors/app-error';
import { ErrorCode } from 'src/common/errors/error-code';

/** Errors of the chats feature (all through the one AppError model). */
export const chatNotFound = (what = 'Chat'): AppError => AppError.notFound(what);

/** A message named by a query or body field (`leafId`) that is not in the chat: 404 naming the field. */
export const messageRefNotFound = (field: string): AppError =>
  new AppError(ErrorCode.NOT_FOUND, 'Message not found', { fieldErrors: [{ field, message: `${field} must be a message of this chat` }] });

export const invalidCursor = (): AppError =>
  new AppError(ErrorCode.VALIDATION_FAILED, 'Invalid cursor', { fieldErrors: [{ field: 'cursor', message: 'cursor must be a nextCursor returned by this endpoint' }] });

export const notAnAssistantMessage = (): AppError =>
  new AppError(ErrorCode.VALIDATION_FAILED, 'Only an assistant message can be streamed, cancelled or regenerated');

export const invalidParent = (): AppError =>
  new AppError(ErrorCode.VALIDATION_FAILED, 'parentId must be a message of this chat', { fieldErrors: [{ field: 'parentId', message: 'parentId must be a message of this chat' }] });

const METADATA_MAX_BYTES = 16 * 1024;

/** `metadata` is free-form JSON, except `tags` (strings) and `priority` (a string); at most 16 KiB. */
export function assertValidMetadata(metadata: Record<string, unknown> | undefined): void {
  if (!metadata) return;
  const problems: { field: string; message: string }[] = [];
  const { tags, priority } = metadata;
  if (tags !== undefined && (!Array.isArray(tags) || tags.some((t) => typeof t !== 'string' || t.length > 100) || tags.length > 50)) {
    problems.push({ field: 'metadata.tags', message: 'metadata.tags must be an array of at most 50 strings of at most 100 characters' });
  }
  if (priority !== undefined && (typeof priority !== 'string' || priority.length > 50)) {
    problems.push({ field: 'metadata.priority', message: 'metadata.priority must be a string of at most 50 characters' });
  }
  if (Buffer.byteLength(JSON.stringify(metadata)) > METADATA_MAX_BYTES) {
    problems.push({ field: 'metadata', message: 'metadata must be at most 16 KiB of JSON' });
  }
  if (problems.length) throw new AppError(ErrorCode.VALIDATION_FAILED, 'Invalid metadata', { fieldErrors: problems });
}
