import { ValidationError, ValidationPipe } from '@nestjs/common';
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

/** Global validation: whitelist, refuse unknown properties, transform; errors list every field. */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
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
