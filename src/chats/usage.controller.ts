import { Controller, Get } from '@nestjs/common';
import { ApiBearerAuth, ApiCookieAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ChatLimitsService } from 'src/chats/chat-limits.service';
import { TeamUsageDto } from 'src/chats/dto/chat-responses.dto';
import type { AuthUser } from 'src/common/auth-user';
import { CurrentUser } from 'src/common/decorators/current-user.decorator';

/** The team's token usage this month against its budget (lives with chats: the ledger is theirs). */
@ApiTags('teams')
@ApiBearerAuth('bearer')
@ApiCookieAuth('cookie')
@Controller('api/teams/current/usage')
export class UsageController {
  constructor(private readonly limits: ChatLimitsService) {}

  @Get()
  @ApiOperation({ summary: "Tokens used by the caller's team in the current calendar month (UTC) and the budget left" })
  @ApiOkResponse({ type: TeamUsageDto })
  get(@CurrentUser() user: AuthUser): Promise<TeamUsageDto> {
    return this.limits.teamUsage(user.teamId);
  }
}
