import {
  Body,
  Controller,
  Delete,
  Get,
  Headers,
  HttpCode,
  Param,
  Patch,
  Post,
  Put,
  Query,
  Res,
  UploadedFile,
  UseInterceptors,
} from '@nestjs/common';
import { FileInterceptor } from '@nestjs/platform-express';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiBody,
  ApiConsumes,
  ApiCookieAuth,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiPayloadTooLargeResponse,
  ApiResponse,
  ApiTags,
  ApiUnauthorizedResponse,
  ApiUnsupportedMediaTypeResponse,
} from '@nestjs/swagger';
import type { Response } from 'express';
import { memoryStorage } from 'multer';
import { AgentAvatarsService, AVATAR_MAX_BYTES } from 'src/agents/agent-avatars.service';
import { AgentsService } from 'src/agents/agents.service';
import { AvatarTooLargeInterceptor } from 'src/agents/avatar-upload.interceptor';
import { AgentListDto, AgentResponseDto } from 'src/agents/dto/agent-response.dto';
import { CreateAgentDto } from 'src/agents/dto/create-agent.dto';
import { ListAgentsQueryDto } from 'src/agents/dto/list-agents.dto';
import { UpdateAgentDto } from 'src/agents/dto/update-agent.dto';
import type { AuthUser } from 'src/common/auth-user';
import { CurrentUser } from 'src/common/decorators/current-user.decorator';
import { Roles } from 'src/common/decorators/roles.decorator';
import { ErrorBodyDto } from 'src/common/filters/error-body';

/** multer for avatar uploads (multipart field `file`); also used by the n8n compatibility surface. */
export const avatarUpload = FileInterceptor('file', {
  storage: memoryStorage(),
  limits: { fileSize: AVATAR_MAX_BYTES, files: 1, fields: 5 },
});

/** Agents of the caller's team: reads for every member, writes for admins. */
@ApiTags('agents')
@ApiBearerAuth('bearer')
@ApiCookieAuth('cookie')
@ApiUnauthorizedResponse({ type: ErrorBodyDto })
@ApiNotFoundResponse({ type: ErrorBodyDto, description: 'No such agent in your team' })
@Controller('api/agents')
export class AgentsController {
  constructor(
    private readonly agents: AgentsService,
    private readonly avatars: AgentAvatarsService,
  ) {}

  @Get()
  @ApiOperation({ summary: "List the team's agents, newest first (paginated)" })
  @ApiOkResponse({ type: AgentListDto })
  list(@CurrentUser() user: AuthUser, @Query() q: ListAgentsQueryDto): Promise<AgentListDto> {
    return this.agents.list(user.teamId, q);
  }

  @Post()
  @ApiOperation({ summary: 'Create an agent (admin)' })
  @Roles('admin')
  @ApiCreatedResponse({ type: AgentResponseDto })
  @ApiBadRequestResponse({ type: ErrorBodyDto })
  create(@CurrentUser() user: AuthUser, @Body() dto: CreateAgentDto): Promise<AgentResponseDto> {
    return this.agents.create(user, dto);
  }

  @Get(':id')
  @ApiOperation({ summary: 'Get one agent of the team' })
  @ApiOkResponse({ type: AgentResponseDto })
  get(@CurrentUser() user: AuthUser, @Param('id') id: string): Promise<AgentResponseDto> {
    return this.agents.get(user.teamId, id);
  }

  @Put(':id')
  @ApiOperation({ summary: 'Replace an agent: omitted optional fields go back to their defaults (admin)' })
  @Roles('admin')
  @ApiOkResponse({
    type: AgentResponseDto,
    description: 'Replaces the agent; the secret is kept unless sent (or null)',
  })
  @ApiBadRequestResponse({ type: ErrorBodyDto })
  replace(
    @CurrentUser() user: AuthUser,
    @Param('id') id: string,
    @Body() dto: CreateAgentDto,
  ): Promise<AgentResponseDto> {
    return this.agents.replace(user, id, dto);
  }

  @Patch(':id')
  @ApiOperation({ summary: 'Change some fields of an agent; null clears a nullable field (admin)' })
  @Roles('admin')
  @ApiOkResponse({ type: AgentResponseDto })
  @ApiBadRequestResponse({ type: ErrorBodyDto })
  update(
    @CurrentUser() user: AuthUser,
    @Param('id') id: string,
    @Body() dto: UpdateAgentDto,
  ): Promise<AgentResponseDto> {
    return this.agents.update(user, id, dto);
  }

  @Delete(':id')
  @ApiOperation({ summary: 'Delete an agent (admin)' })
  @Roles('admin')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Soft-deleted; agents using it as fallback lose that fallback' })
  delete(@CurrentUser() user: AuthUser, @Param('id') id: string): Promise<void> {
    return this.agents.delete(user, id);
  }

  @Post(':id/avatar')
  @ApiOperation({ summary: "Upload the agent's avatar image (multipart field `file`, at most 2 MiB; admin)" })
  @Roles('admin')
  @HttpCode(200)
  @UseInterceptors(AvatarTooLargeInterceptor, avatarUpload)
  @ApiConsumes('multipart/form-data')
  @ApiBody({
    schema: { type: 'object', required: ['file'], properties: { file: { type: 'string', format: 'binary' } } },
  })
  @ApiOkResponse({ type: AgentResponseDto })
  @ApiPayloadTooLargeResponse({ type: ErrorBodyDto, description: 'More than 2 MiB' })
  @ApiUnsupportedMediaTypeResponse({ type: ErrorBodyDto, description: 'Not a PNG, JPEG, WebP or GIF (by content)' })
  uploadAvatar(
    @CurrentUser() user: AuthUser,
    @Param('id') id: string,
    @UploadedFile() file: Express.Multer.File | undefined,
  ): Promise<AgentResponseDto> {
    return this.avatars.upload(user, id, file);
  }

  @Get(':id/avatar')
  @ApiOperation({ summary: "Download the agent's avatar image" })
  @ApiOkResponse({
    description: 'The image, with a strong ETag; If-None-Match → 304',
    content: Object.fromEntries(
      ['image/png', 'image/jpeg', 'image/webp', 'image/gif'].map((t) => [
        t,
        { schema: { type: 'string', format: 'binary' } },
      ]),
    ),
  })
  @ApiResponse({ status: 304, description: 'Not modified (If-None-Match matched the ETag)' })
  async avatar(
    @CurrentUser() user: AuthUser,
    @Param('id') id: string,
    @Headers('if-none-match') ifNoneMatch: string | undefined,
    @Res() res: Response,
  ): Promise<void> {
    const reply = await this.avatars.read(user.teamId, id, ifNoneMatch);
    res.status(reply.status).set(reply.headers).end(reply.body);
  }
}
