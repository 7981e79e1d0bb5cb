import { applyDecorators, Type } from '@nestjs/common';
import { ApiExtension, ApiExtraModels, getSchemaPath } from '@nestjs/swagger';

/** Set by `@ApiErrorBody()`: the schema of every error response of the operation (instead of the contract's). */
export const ERROR_BODY_EXTENSION = 'x-error-body';
/** Set by `@ApiErrorBody()`: the status a validation failure gets on this surface (instead of 400). */
export const VALIDATION_STATUS_EXTENSION = 'x-validation-status';

/**
 * A compat surface's own JSON error shape (its exception filter writes it): every 4xx/5xx response the
 * document gives the routes (those the conventions add too: 401, 400, 429) is `application/json` with
 * `model`. `validationStatus`: the status of a validation failure there, when it is not 400.
 */
export const ApiErrorBody = (model: Type<unknown>, options: { validationStatus?: number } = {}) =>
  applyDecorators(
    ApiExtraModels(model),
    ApiExtension(ERROR_BODY_EXTENSION, { $ref: getSchemaPath(model) }),
    ...(options.validationStatus ? [ApiExtension(VALIDATION_STATUS_EXTENSION, String(options.validationStatus))] : []),
  );
