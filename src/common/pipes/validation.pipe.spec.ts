import { ArgumentMetadata } from '@nestjs/common';
import { IsString } from 'class-validator';
import { CreateAgentDto } from 'src/agents/dto/create-agent.dto';
import { SearchChatsQueryDto } from 'src/chats/dto/chat-requests.dto';
import { AppError } from 'src/common/errors/app-error';
import {
  createLenientValidationPipe,
  createValidationPipe,
  LenientDto,
  validateAs,
} from 'src/common/pipes/validation.pipe';

async function fieldErrors(
  metatype: ArgumentMetadata['metatype'],
  value: unknown,
  type: ArgumentMetadata['type'] = 'body',
) {
  try {
    await createValidationPipe().transform(value, { type, metatype });
  } catch (err) {
    return (err as AppError).options.fieldErrors;
  }
  throw new Error('expected a validation error');
}

describe('createValidationPipe: one message per missing or invalid field', () => {
  it('answers an absent required query field with one "is required" message, not its length rules', async () => {
    expect(await fieldErrors(SearchChatsQueryDto, {}, 'query')).toEqual([{ field: 'q', message: 'q is required' }]);
  });

  it('keeps the type rule of a value of the wrong type and drops the rules that follow from it', async () => {
    expect(await fieldErrors(CreateAgentDto, { name: 42, provider: 'mock' })).toEqual([
      { field: 'name', message: 'name must be a string' },
    ]);
  });

  it('reports the one broken limit of a value of the right type', async () => {
    expect(await fieldErrors(SearchChatsQueryDto, { q: 'x'.repeat(201) }, 'query')).toEqual([
      { field: 'q', message: 'q must be shorter than or equal to 200 characters' },
    ]);
  });

  it('lists each bad field once, nested ones by their path, unknown ones as not allowed', async () => {
    const errors = await fieldErrors(CreateAgentDto, { provider: 'nope', config: { temperature: 'hot' }, extra: 1 });
    expect(errors).toEqual([
      { field: 'extra', message: 'extra is not allowed' },
      { field: 'name', message: 'name is required' },
      { field: 'provider', message: 'provider must be one of: gemini, openai, n8n, mock' },
      {
        field: 'config.temperature',
        message: 'config.temperature: temperature must be a number conforming to the specified constraints',
      },
    ]);
  });
});

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
    await expect(createValidationPipe().transform({ name: 'a', extra: 1 }, body(StrictDto))).rejects.toBeInstanceOf(
      AppError,
    );
  });

  it('the global pipe leaves @LenientDto classes to the surface pipe, which drops unknown properties', async () => {
    const raw = { name: 'a', extra: 1 };
    expect(await createValidationPipe().transform(raw, body(CompatDto))).toBe(raw);
    const out = await createLenientValidationPipe().transform(raw, body(CompatDto));
    expect(out).toBeInstanceOf(CompatDto);
    expect(out).toEqual({ name: 'a' });
    await expect(createLenientValidationPipe().transform({ name: 1 }, body(CompatDto))).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
    });
  });

  it('the surface pipe does not touch canonical DTOs (the global pipe has checked them)', async () => {
    const raw = { name: 'a', extra: 1 };
    expect(await createLenientValidationPipe().transform(raw, body(StrictDto))).toBe(raw);
  });

  it('validateAs applies the canonical class exactly as the global pipe does', async () => {
    expect(await validateAs(StrictDto, { name: 'a' })).toBeInstanceOf(StrictDto);
    await expect(validateAs(StrictDto, { name: 2 })).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      options: { fieldErrors: [{ field: 'name', message: 'name must be a string' }] },
    });
  });
});
