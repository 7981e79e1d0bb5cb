import { isEmail, ValidateBy, ValidationOptions } from 'class-validator';
import { isWellFormedText } from 'src/common/validation/text-hygiene';

/**
 * `@IsEmail()` that cannot throw. validator's isEmail measures byte lengths with `encodeURI`, which throws a
 * URIError on a lone UTF-16 surrogate ("\ud800"): class-validator lets it escape and the request answered
 * 500 (and counted against the route's breaker). An address that is not well-formed Unicode is simply
 * not an email.
 */
export function IsEmailAddress(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isEmail',
      validator: {
        validate: (value: unknown) => typeof value === 'string' && isWellFormedText(value) && isEmail(value),
        defaultMessage: () => '$property must be an email',
      },
    },
    options,
  );
}
