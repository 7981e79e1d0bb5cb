import { IsString } from 'class-validator';
import { AppError } from 'src/common/errors/app-error';
import { createLenientValidationPipe, createValidationPipe, LenientDto, validateAs } from 'src/common/pipes/validation.pipe';

class StrictDto {
  @IsString() name: string;
}

@LenientDto()
class CompatDto {
  @IsString() name: string;
}

const body = (metatype: new () => object) => ({ type: 'body' as const, metatype });

describe('validation pipes', () => {
  it('the global pipe refuses unknown properties on canonical DTOs', async () => {
    await expect(createValidationPipe().transform({ name: 'a', extra: 1 }, body(StrictDto))).rejects.toBeInstanceOf(AppError);
  });

  it('the global pipe leaves @LenientDto classes to the surface pipe, which drops unknown properties', async () => {
    const raw = { name: 'a', extra: 1 };
    expect(await createValidationPipe().transform(raw, body(CompatDto))).toBe(raw);
    const out = await createLenientValidationPipe().transform(raw, body(CompatDto));
    expect(out).toBeInstanceOf(CompatDto);
    expect(out).toEqual({ name: 'a' });
    await expect(createLenientValidationPipe().transform({ name: 1 }, body(CompatDto))).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
  });

  it('the surface pipe does not touch canonical DTOs (the global pipe has checked them)', async () => {
    const raw = { name: 'a', extra: 1 };
    expect(await createLenientValidationPipe().transform(raw, body(StrictDto))).toBe(raw);
  });

  it('validateAs applies the canonical class exactly as the global pipe does', async () => {
    expect(await validateAs(StrictDto, { name: 'a' })).toBeInstanceOf(StrictDto);
    await expect(validateAs(StrictDto, { name: 2 })).rejects.toMatchObject({ code: 'VALIDATION_FAILED', options: { fieldErrors: [{ field: 'name', message: 'name must be a string' }] } });
  });
});
