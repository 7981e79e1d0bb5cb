import { ArgumentMetadata, HttpException, ValidationError, ValidationPipe } from '@nestjs/common';
import { AppError, FieldError } from 'src/common/errors/app-error';
import { ErrorCode } from 'src/common/errors/error-code';

function flatten(errors: ValidationError[], parent = ''): FieldError[] {
  const out: FieldError[] = [];
  for (const e of errors) {
    const field = parent ? `${parent}.${e.property}` : e.property;
    for (const message of Object.values(e.constraints ?? {})) {
      // class-validator's whitelist message names the property; make it read as a sentence.
      out.push({ field, message: message.startsWith('property ') ? `${field} is not allowed` : message });
    }
    if (e.children?.length) out.push(...flatten(e.children, field));
  }
  return out;
}

/**
 * A validator or transformer that throws on some input (validator's isEmail did on a lone surrogate) is
 * the input's fault: 400 naming the argument, never a 500 (nor a failure counted by a route breaker).
 */
class AppValidationPipe extends ValidationPipe {
  async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    try {
      return await super.transform(value, metadata);
    } catch (err) {
      if (err instanceof AppError || err instanceof HttpException) throw err;
      const field = metadata.data ?? metadata.type;
      throw new AppError(ErrorCode.VALIDATION_FAILED, `Validation failed: ${field}`, {
        fieldErrors: [{ field, message: `${field} could not be validated` }],
      });
    }
  }
}

/** Global validation: whitelist, refuse unknown properties, transform; errors list every field. */
export function createValidationPipe(): ValidationPipe {
  return new AppValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    transformOptions: { enableImplicitConversion: false },
    exceptionFactory: (errors) => {
      const fieldErrors = flatten(errors);
      const names = [...new Set(fieldErrors.map((f) => f.field))].join(', ');
      return new AppError(ErrorCode.VALIDATION_FAILED, `Validation failed: ${names}`, { fieldErrors });
    },
  });
}
