import { Body, Controller, Get, Put } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiCookieAuth,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import type { AuthUser } from 'src/common/auth-user';
import { CurrentUser } from 'src/common/decorators/current-user.decorator';
import { Roles } from 'src/common/decorators/roles.decorator';
import { ErrorBodyDto } from 'src/common/filters/error-body';
import { ResearchSettingsDto, UpdateResearchSettingsDto } from 'src/research/dto/research-settings.dto';
import { ResearchSettingsService } from 'src/research/sessions/research-settings.service';

/** Which of the team's agents serve the worker and the critic roles of the research pipeline. */
@ApiTags('research')
@ApiBearerAuth('bearer')
@ApiCookieAuth('cookie')
@Controller('api/research/settings')
export class ResearchSettingsController {
  constructor(private readonly settings: ResearchSettingsService) {}

  @Get()
  @ApiOperation({ summary: "The team's research agents (worker and critic) and the agents a run would use now" })
  @ApiOkResponse({ type: ResearchSettingsDto })
  get(@CurrentUser() user: AuthUser): Promise<ResearchSettingsDto> {
    return this.settings.get(user);
  }

  @Put()
  @Roles('admin')
  @ApiOperation({ summary: 'Admin: set the worker and critic agents (null: default)' })
  @ApiOkResponse({ type: ResearchSettingsDto })
  @ApiBadRequestResponse({ type: ErrorBodyDto })
  @ApiNotFoundResponse({ type: ErrorBodyDto, description: 'No such agent in your team' })
  update(@CurrentUser() user: AuthUser, @Body() dto: UpdateResearchSettingsDto): Promise<ResearchSettingsDto> {
    return this.settings.update(user, dto);
  }
}
