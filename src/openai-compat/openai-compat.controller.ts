import { Body, Controller, Get, HttpCode, Param, Post, Req, Res, UseFilters } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { ApiKeyAuth, CurrentApiKey } from 'src/api-keys/api-key-auth.decorator';
import type { ApiKeyPrincipal } from 'src/api-keys/api-key-principal';
import { ChatCompletionsService } from 'src/openai-compat/chat-completions.service';
import { OpenAiExceptionFilter } from 'src/openai-compat/openai-exception.filter';
import { clientGone, writeOpenAiStream } from 'src/openai-compat/openai-stream';

/**
 * OpenAI-compatible API (docs/compat.md): a team API key with the `chat` scope; the models are the team's
 * active agents. Bodies are OpenAI's, validated by the service with OpenAI's error shape (documented in
 * docs/compat.md rather than in the OpenAPI, like the other compat surfaces).
 */
@ApiExcludeController()
@UseFilters(OpenAiExceptionFilter)
@ApiKeyAuth('chat')
@Controller('v1')
export class OpenAiCompatController {
  constructor(private readonly completions: ChatCompletionsService) {}

  @Get('models')
  listModels(@CurrentApiKey() key: ApiKeyPrincipal): Promise<unknown> {
    return this.completions.listModels(key.teamId);
  }

  @Get('models/:model')
  getModel(@CurrentApiKey() key: ApiKeyPrincipal, @Param('model') model: string): Promise<unknown> {
    return this.completions.getModel(key.teamId, model);
  }

  @Post('chat/completions')
  @HttpCode(200)
  async createChatCompletion(
    @CurrentApiKey() key: ApiKeyPrincipal,
    @Body() body: unknown,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    const reply = await this.completions.create(key, body, clientGone(req, res));
    if (reply.stream) await writeOpenAiStream(res, reply.chunks);
    else res.status(200).json(reply.body);
  }
}
