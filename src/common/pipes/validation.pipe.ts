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

const LENIENT_DTO = Symbol('lenientDto');

/**
 * Marks a body/query DTO of a compatibility surface (src/compat/*): the global pipe leaves it alone and the
 * surface's own `createLenientValidationPipe()` (controller-scoped) validates it, dropping unknown properties
 * instead of refusing them, because those systems' clients send extras. Never put it on a canonical DTO.
 */
export const LenientDto = (): ClassDecorator => (target) => Reflect.defineMetadata(LENIENT_DTO, true, target);

const isLenient = (metatype: unknown): boolean => typeof metatype === 'function' && Reflect.getMetadata(LENIENT_DTO, metatype) === true;

const exceptionFactory = (errors: ValidationError[]): AppError => {
  const fieldErrors = flatten(errors);
  const names = [...new Set(fieldErrors.map((f) => f.field))].join(', ');
  return new AppError(ErrorCode.VALIDATION_FAILED, `Validation failed: ${names}`, { fieldErrors });
};

const common: ValidationPipeOptions = { whitelist: true, transform: true, transformOptions: { enableImplicitConversion: false }, exceptionFactory };

/** The global pipe: skips `@LenientDto()` classes, which their surface's controller-scoped pipe validates. */
class StrictValidationPipe extends ValidationPipe {
  protected override toValidate(metadata: ArgumentMetadata): boolean {
    return !isLenient(metadata.metatype) && super.toValidate(metadata);
  }
}

/** Only `@LenientDto()` classes: whitelist (unknown properties are dropped, not refused), transform. */
class LenientValidationPipe extends ValidationPipe {
  protected override toValidate(metadata: ArgumentMetadata): boolean {
    return isLenient(metadata.metatype) && super.toValidate(metadata);
  }
}

/** Global validation: whitelist, refuse unknown properties, transform; errors list every field. */
export function createValidationPipe(): ValidationPipe {
  return new StrictValidationPipe({ ...common, forbidNonWhitelisted: true });
}

/** For compatibility controllers (`@UsePipes(createLenientValidationPipe())`): validates `@LenientDto()` classes only. */
export function createLenientValidationPipe(): ValidationPipe {
  return new LenientValidationPipe({ ...common, forbidNonWhitelisted: false });
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
