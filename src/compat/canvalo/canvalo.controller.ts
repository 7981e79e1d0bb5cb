import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query, Req, Res, UseFilters } from '@nestjs/common';
import { ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { ApiKeyAuth, CurrentApiKey } from 'src/api-keys/api-key-auth.decorator';
import type { ApiKeyPrincipal } from 'src/api-keys/api-key-principal';
import { ApiErrorBody } from 'src/common/openapi/api-error-body.decorator';
import { CanvaloExceptionFilter } from 'src/compat/canvalo/canvalo-exception.filter';
import {
  CanvaloChatRequestDto,
  CanvaloConversationCreateDto,
  CanvaloConversationDto,
  CanvaloConversationWithMessagesDto,
  CanvaloErrorBodyDto,
  CanvaloSuccessDto,
  CanvaloUserQueryDto,
} from 'src/compat/canvalo/canvalo.dto';
import { CanvaloService } from 'src/compat/canvalo/canvalo.service';
import { clientGone, writeDataStream } from 'src/openai-compat/openai-stream';

/** Canvalo's backend API (docs/compat.md, seed 004) under /compat/canvalo; a team API key with `chat`. */
@ApiTags('compat: canvalo')
@ApiErrorBody(CanvaloErrorBodyDto, { validationStatus: 422 })
@ApiNotFoundResponse({ description: 'No such session, message or conversation of yours' })
@UseFilters(CanvaloExceptionFilter)
@ApiKeyAuth('chat')
@Controller('compat/canvalo/api')
export class CanvaloController {
  constructor(private readonly canvalo: CanvaloService) {}

  @Post('chat/stream')
  @ApiOperation({
    summary: "Chat with the agent, streamed (Canvalo's data stream); the conversation keeps the exchange",
  })
  @HttpCode(200)
  @ApiProduces('text/event-stream')
  @ApiOkResponse({
    description:
      'SSE: `data: {"type":"token"|"tool_call"|"complete"|"error","content","tool_call","error","agent_type"}`',
  })
  async stream(
    @CurrentApiKey() key: ApiKeyPrincipal,
    @Body() dto: CanvaloChatRequestDto,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    await writeDataStream(res, await this.canvalo.stream(key, dto, clientGone(req, res)));
  }

  @Get('conversations')
  @ApiOperation({ summary: "The conversations of a user of the key's team" })
  @ApiOkResponse({ type: [CanvaloConversationDto] })
  list(@CurrentApiKey() key: ApiKeyPrincipal, @Query() q: CanvaloUserQueryDto): Promise<CanvaloConversationDto[]> {
    return this.canvalo.listConversations(key, q.user_id);
  }

  @Post('conversations')
  @ApiOperation({ summary: 'Create a conversation for a user' })
  @HttpCode(200)
  @ApiOkResponse({ type: CanvaloConversationDto })
  create(
    @CurrentApiKey() key: ApiKeyPrincipal,
    @Body() dto: CanvaloConversationCreateDto,
  ): Promise<CanvaloConversationDto> {
    return this.canvalo.createConversation(key, dto.user_id, dto.title);
  }

  @Get('conversations/:id')
  @ApiOperation({ summary: 'A conversation with its messages' })
  @ApiOkResponse({ type: CanvaloConversationWithMessagesDto })
  get(
    @CurrentApiKey() key: ApiKeyPrincipal,
    @Param('id') id: string,
    @Query() q: CanvaloUserQueryDto,
  ): Promise<CanvaloConversationWithMessagesDto> {
    return this.canvalo.getConversation(key, id, q.user_id);
  }

  @Delete('conversations/:id')
  @ApiOperation({ summary: 'Delete a conversation' })
  @ApiOkResponse({ type: CanvaloSuccessDto })
  async delete(
    @CurrentApiKey() key: ApiKeyPrincipal,
    @Param('id') id: string,
    @Query() q: CanvaloUserQueryDto,
  ): Promise<{ success: true }> {
    await this.canvalo.deleteConversation(key, id, q.user_id);
    return { success: true };
  }
}
