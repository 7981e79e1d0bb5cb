import { ArgumentMetadata } from '@nestjs/common';
import { CreateAgentDto } from 'src/agents/dto/create-agent.dto';
import { SearchChatsQueryDto } from 'src/chats/dto/chat-requests.dto';
import { AppError } from 'src/common/errors/app-error';
import { createValidationPipe } from 'src/common/pipes/validation.pipe';

async function fieldErrors(metatype: ArgumentMetadata['metatype'], value: unknown, type: ArgumentMetadata['type'] = 'body') {
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
    expect(await fieldErrors(CreateAgentDto, { name: 42, provider: 'mock' })).toEqual([{ field: 'name', message: 'name must be a string' }]);
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
      { field: 'config.temperature', message: 'config.temperature: temperature must be a number conforming to the specified constraints' },
    ]);
  });
});
