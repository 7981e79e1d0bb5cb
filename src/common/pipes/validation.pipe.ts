import {
  ArgumentMetadata,
  HttpException,
  ValidationError,
  ValidationPipe,
  ValidationPipeOptions,
} from '@nestjs/common';
import { AppError, FieldError } from 'src/common/errors/app-error';
import { ErrorCode } from 'src/common/errors/error-code';

/**
 * Constraints that say what a value must BE, checked first: when one fails, the length, range and format
 * rules below it are noise ("q must be shorter than…" about an absent q), so only its message is kept.
 */
const TYPE_CONSTRAINTS = [
  'whitelistValidation',
  'isDefined',
  'isString',
  'isInt',
  'isNumber',
  'isBoolean',
  'isObject',
  'isArray',
  'isEnum',
  'isIn',
  'nestedValidation',
];

/** One message per field: "x is required" when absent, else the type rule's message, else the first rule's. */
function messageOf(e: ValidationError, field: string): string | null {
  const constraints = e.constraints ?? {};
  const names = Object.keys(constraints);
  if (!names.length) return null;
  if (names.includes('whitelistValidation')) return `${field} is not allowed`;
  if (e.value === undefined) return `${field} is required`;
  const first = TYPE_CONSTRAINTS.find((n) => n in constraints) ?? names[0];
  const message = constraints[first];
  // Nested properties: class-validator names the leaf property; the field says where it is.
  return field.includes('.') && !message.startsWith(field) ? `${field}: ${message}` : message;
}

function flatten(errors: ValidationError[], parent = ''): FieldError[] {
  const out: FieldError[] = [];
  for (const e of errors) {
    const field = parent ? `${parent}.${e.property}` : e.property;
    const message = messageOf(e, field);
    if (message) out.push({ field, message });
    if (e.children?.length) out.push(...flatten(e.children, field));
  }
  return out;
}

/**
 * A validator or transformer that throws on some input (validator's isEmail did on a lone surrogate) is
 * the input's fault: 400 naming the argument, never a 500 (nor a failure counted by a route breaker).
 */
class SafeValidationPipe extends ValidationPipe {
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

const isLenient = (metatype: unknown): boolean =>
  typeof metatype === 'function' && (metatype as unknown as Record<symbol, unknown>)[LENIENT] === true;

/** The global pipe: strict for every DTO except those marked `@LenientDto()`. */
class StrictValidationPipe extends SafeValidationPipe {
  protected toValidate(metadata: ArgumentMetadata): boolean {
    return !isLenient(metadata.metatype) && super.toValidate(metadata);
  }
}

/** A compat controller's pipe: validates only `@LenientDto()` classes, whitelisting without refusing unknown fields. */
class LenientValidationPipe extends SafeValidationPipe {
  protected toValidate(metadata: ArgumentMetadata): boolean {
    return isLenient(metadata.metatype) && super.toValidate(metadata);
  }
}

/** Global validation: whitelist, refuse unknown properties, transform; errors list every bad field once. */
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
