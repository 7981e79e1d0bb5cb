import { AppError } from 'src/common/errors/app-error';
import { ErrorCode } from 'src/common/errors/error-code';

/** Errors of the Vana surface (its filter gives them Vana's `{detail}` shape). */
export const VanaErrors = {
  /** A field Vana's client may send under one of two names, sent under neither. */
  required: (field: string, message: string) =>
    new AppError(ErrorCode.VALIDATION_FAILED, message, { fieldErrors: [{ field, message }] }),
};
