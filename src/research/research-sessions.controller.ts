import { Body, Controller, Get, Param, Post, Put, Query, Res } from '@nestjs/common';
import { ApiBadRequestResponse, ApiBearerAuth, ApiCookieAuth, ApiCreatedResponse, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import type { AuthUser } from 'src/common/auth-user';
import { CurrentUser } from 'src/common/decorators/current-user.decorator';
import { ErrorBodyDto } from 'src/common/filters/error-body';
import {
  AddSessionMessageDto,
  ListSessionsQueryDto,
  ResearchSessionDto,
  ResearchSessionListDto,
  SessionMessageDto,
  UpdateSessionDto,
} from 'src/research/dto/research-session.dto';
import { ResearchSessionsService } from 'src/research/research-sessions.service';

/** The caller's research sessions (another user's or team's session is a 404). */
@ApiTags('research')
@ApiBearerAuth('bearer')
@ApiCookieAuth('cookie')
@ApiNotFoundResponse({ type: ErrorBodyDto, description: 'No such research session of yours' })
@Controller('api/sessions')
export class ResearchSessionsController {
  constructor(private readonly sessions: ResearchSessionsService) {}

  @Get()
  @ApiOperation({ summary: 'List your research sessions, newest first (paginated)' })
  @ApiOkResponse({ type: ResearchSessionListDto })
  list(@CurrentUser() user: AuthUser, @Query() q: ListSessionsQueryDto): Promise<ResearchSessionListDto> {
    return this.sessions.list(user, q);
  }

  @Get(':sessionId')
  @ApiOperation({ summary: 'Get a research session with its stored messages' })
  @ApiOkResponse({ type: ResearchSessionDto })
  get(@CurrentUser() user: AuthUser, @Param('sessionId') sessionId: string): Promise<ResearchSessionDto> {
    return this.sessions.get(user, sessionId);
  }

  @Put(':sessionId')
  @ApiOperation({ summary: 'Update title and/or metadata' })
  @ApiOkResponse({ type: ResearchSessionDto })
  @ApiBadRequestResponse({ type: ErrorBodyDto })
  update(@CurrentUser() user: AuthUser, @Param('sessionId') sessionId: string, @Body() dto: UpdateSessionDto): Promise<ResearchSessionDto> {
    return this.sessions.update(user, sessionId, dto);
  }

  @Post(':sessionId/messages')
  @ApiOperation({ summary: 'Store a message; the same id twice stores one (201 when new, 200 when it existed)' })
  @ApiCreatedResponse({ type: SessionMessageDto })
  @ApiOkResponse({ type: SessionMessageDto, description: 'A message with this id existed: returned unchanged' })
  @ApiBadRequestResponse({ type: ErrorBodyDto })
  async addMessage(
    @CurrentUser() user: AuthUser,
    @Param('sessionId') sessionId: string,
    @Body() dto: AddSessionMessageDto,
    @Res({ passthrough: true }) res: Response,
  ): Promise<SessionMessageDto> {
    const { message, created } = await this.sessions.addMessage(user, sessionId, dto);
    res.status(created ? 201 : 200);
    return message;
  }
}
