import { Body, Controller, Get, HttpCode, Param, ParseUUIDPipe, Patch, Post, Query } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiConflictResponse,
  ApiCookieAuth,
  ApiCreatedResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import type { AuthUser } from 'src/common/auth-user';
import { CurrentUser } from 'src/common/decorators/current-user.decorator';
import { Roles } from 'src/common/decorators/roles.decorator';
import { ErrorBodyDto } from 'src/common/filters/error-body';
import { CreateInviteDto, InviteResponseDto } from 'src/teams/dto/create-invite.dto';
import { ListMembersQueryDto } from 'src/teams/dto/list-members-query.dto';
import { TeamResponseDto } from 'src/teams/dto/team-response.dto';
import { UpdateMemberDto } from 'src/teams/dto/update-member.dto';
import { UpdateTeamDto } from 'src/teams/dto/update-team.dto';
import { MemberListDto, MemberResponseDto } from 'src/teams/dto/user-response.dto';
import { TeamsService } from 'src/teams/teams.service';
import { UsersService } from 'src/teams/users.service';

/** The caller's own team: there is no route to any other team. */
@ApiTags('teams')
@ApiBearerAuth('bearer')
@ApiCookieAuth('cookie')
@ApiUnauthorizedResponse({ type: ErrorBodyDto })
@Controller('api/teams/current')
export class TeamsController {
  constructor(
    private readonly teams: TeamsService,
    private readonly users: UsersService,
  ) {}

  @Get()
  @ApiOperation({ summary: "The caller's team" })
  @ApiOkResponse({ type: TeamResponseDto })
  get(@CurrentUser() user: AuthUser): Promise<TeamResponseDto> {
    return this.teams.getCurrent(user);
  }

  @Patch()
  @Roles('admin')
  @ApiOperation({ summary: 'Rename the team or change open sign-up (admin)' })
  @ApiOkResponse({ type: TeamResponseDto })
  update(@CurrentUser() user: AuthUser, @Body() dto: UpdateTeamDto): Promise<TeamResponseDto> {
    return this.teams.updateCurrent(user, dto);
  }

  @Get('members')
  @ApiOperation({ summary: 'Members of the team, oldest first (cursor-paginated)' })
  @ApiOkResponse({ type: MemberListDto })
  members(@CurrentUser() user: AuthUser, @Query() q: ListMembersQueryDto): Promise<MemberListDto> {
    return this.users.listMembers(user, q);
  }

  @Patch('members/:userId')
  @Roles('admin')
  @ApiOperation({
    summary: "Change a member's role or active state (admin); the last active admin cannot be demoted or deactivated",
  })
  @ApiOkResponse({ type: MemberResponseDto })
  @ApiNotFoundResponse({ type: ErrorBodyDto })
  @ApiConflictResponse({ type: ErrorBodyDto, description: 'Would leave the team without an active admin' })
  updateMember(
    @CurrentUser() user: AuthUser,
    @Param('userId', new ParseUUIDPipe()) userId: string,
    @Body() dto: UpdateMemberDto,
  ): Promise<MemberResponseDto> {
    return this.users.updateMember(user, userId, dto);
  }

  @Post('invites')
  @HttpCode(201)
  @Roles('admin')
  @ApiOperation({ summary: 'Create a single-use invite (admin); the token is shown only in this response' })
  @ApiCreatedResponse({ type: InviteResponseDto })
  invite(@CurrentUser() user: AuthUser, @Body() dto: CreateInviteDto): Promise<InviteResponseDto> {
    return this.teams.invite(user, dto);
  }
}
