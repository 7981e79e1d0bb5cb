import { ArgumentMetadata, ValidationError, ValidationPipe, ValidationPipeOptions } from '@nestjs/common';
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

const LENIENT = Symbol('lenient-dto');

/**
 * Marks a DTO of a compatibility surface: the global (strict) pipe leaves it alone and the surface's own
 * pipe (`createLenientValidationPipe`, applied per controller) validates it, dropping unknown fields
 * instead of refusing them (those clients send extras).
 */
export function LenientDto(): ClassDecorator {
  return (target) => {
    Object.defineProperty(target, LENIENT, { value: true });
  };
}

const isLenient = (metatype: unknown): boolean => typeof metatype === 'function' && (metatype as unknown as Record<symbol, unknown>)[LENIENT] === true;

/** The global pipe: strict for every DTO except those marked `@LenientDto()`. */
class StrictValidationPipe extends ValidationPipe {
  protected toValidate(metadata: ArgumentMetadata): boolean {
    return !isLenient(metadata.metatype) && super.toValidate(metadata);
  }
}

/** A compat controller's pipe: validates only `@LenientDto()` classes, whitelisting without refusing unknown fields. */
class LenientValidationPipe extends ValidationPipe {
  protected toValidate(metadata: ArgumentMetadata): boolean {
    return isLenient(metadata.metatype) && super.toValidate(metadata);
  }
}

/** Global validation: whitelist, refuse unknown properties, transform; errors list every field. */
export function createValidationPipe(): ValidationPipe {
  return new StrictValidationPipe(pipeOptions(true));
}

/** For `@UsePipes()` on compatibility controllers: unknown fields are dropped, not refused. */
export function createLenientValidationPipe(): ValidationPipe {
  return new LenientValidationPipe(pipeOptions(false));
}

function pipeOptions(forbidNonWhitelisted: boolean): ValidationPipeOptions {
  return {
    whitelist: true,
    forbidNonWhitelisted,
    transform: true,
    transformOptions: { enableImplicitConversion: false },
    exceptionFactory: (errors) => {
      const fieldErrors = flatten(errors);
      const names = [...new Set(fieldErrors.map((f) => f.field))].join(', ');
      return new AppError(ErrorCode.VALIDATION_FAILED, `Validation failed: ${names}`, { fieldErrors });
    },
  };
}

const strict = createValidationPipe();

/**
 * Validates and transforms `plain` as the DTO class `cls` exactly as the global pipe would (same rules, same
 * VALIDATION_FAILED error). A compatibility surface maps its system's fields onto a canonical DTO and checks
 * it here, so the canonical rules stay the only copy.
 */
export async function validateAs<T extends object>(cls: new () => T, plain: object): Promise<T> {
  return (await strict.transform(plain, { type: 'body', metatype: cls })) as T;
}
