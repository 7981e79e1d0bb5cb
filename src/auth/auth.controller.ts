import { Body, Controller, Get, HttpCode, Post } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiConflictResponse,
  ApiCookieAuth,
  ApiCreatedResponse,
  ApiForbiddenResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { AuthExchange, AuthHttp } from 'src/auth/auth-http';
import { AuthService } from 'src/auth/auth.service';
import { ChangePasswordDto } from 'src/auth/dto/change-password.dto';
import { LoginDto, MeResponseDto, TokenResponseDto } from 'src/auth/dto/login.dto';
import { RefreshDto } from 'src/auth/dto/refresh.dto';
import { RegisterDto, RegisterResponseDto } from 'src/auth/dto/register.dto';
import type { AuthUser } from 'src/common/auth-user';
import { CurrentUser } from 'src/common/decorators/current-user.decorator';
import { Public } from 'src/common/decorators/public.decorator';
import { ErrorBodyDto } from 'src/common/filters/error-body';

@ApiTags('auth')
@Controller('api/auth')
export class AuthController {
  constructor(private readonly auth: AuthService) {}

  @Public()
  @Post('register')
  @HttpCode(201)
  @ApiOperation({
    summary: 'Create an account: a new team (teamName), an invite (inviteToken) or an open team (teamId); exactly one',
  })
  @ApiCreatedResponse({ type: RegisterResponseDto })
  @ApiBadRequestResponse({
    type: ErrorBodyDto,
    description: 'Invalid fields, weak password, not exactly one of teamName/inviteToken/teamId',
  })
  @ApiConflictResponse({ type: ErrorBodyDto, description: 'Email already exists in that team' })
  @ApiNotFoundResponse({
    type: ErrorBodyDto,
    description: 'teamId names no team that allows open sign-up (details.fieldErrors names teamId)',
  })
  @ApiTooManyRequestsResponse({ type: ErrorBodyDto })
  register(@Body() dto: RegisterDto, @AuthHttp() http: AuthExchange): Promise<RegisterResponseDto> {
    return this.auth.register(dto, http);
  }

  @Public()
  @Post('login')
  @HttpCode(200)
  @ApiOperation({ summary: 'Log in; sets the httpOnly access_token and refresh_token cookies' })
  @ApiOkResponse({ type: TokenResponseDto })
  @ApiBadRequestResponse({ type: ErrorBodyDto, description: 'The email exists in several teams and `team` is missing' })
  @ApiUnauthorizedResponse({ type: ErrorBodyDto })
  @ApiTooManyRequestsResponse({ type: ErrorBodyDto, description: 'Rate limited or locked out (Retry-After)' })
  @ApiServiceUnavailableResponse({ type: ErrorBodyDto, description: 'Password hashing saturated (Retry-After)' })
  login(@Body() dto: LoginDto, @AuthHttp() http: AuthExchange): Promise<TokenResponseDto> {
    return this.auth.login(dto, http);
  }

  @Public()
  @Post('refresh')
  @HttpCode(200)
  @ApiCookieAuth('cookie')
  @ApiOperation({
    summary: 'Rotate the refresh token (cookie or body) for a new pair; re-use of a rotated token revokes the session',
  })
  @ApiOkResponse({ type: TokenResponseDto })
  @ApiUnauthorizedResponse({ type: ErrorBodyDto })
  @ApiForbiddenResponse({ type: ErrorBodyDto, description: 'Cookie used from a disallowed Origin' })
  refresh(@Body() dto: RefreshDto, @AuthHttp() http: AuthExchange): Promise<TokenResponseDto> {
    return this.auth.refresh(dto, http);
  }

  @Public()
  @Post('logout')
  @HttpCode(204)
  @ApiBearerAuth('bearer')
  @ApiCookieAuth('cookie')
  @ApiOperation({ summary: 'Revoke the session (refresh family) and the current access token; clear the cookies' })
  @ApiNoContentResponse()
  @ApiForbiddenResponse({ type: ErrorBodyDto, description: 'Cookie used from a disallowed Origin' })
  logout(@Body() dto: RefreshDto, @AuthHttp() http: AuthExchange): Promise<void> {
    return this.auth.logout(dto, http);
  }

  @Post('password')
  @HttpCode(204)
  @ApiBearerAuth('bearer')
  @ApiCookieAuth('cookie')
  @ApiOperation({
    summary: "Change the caller's password; ends every other session of the account (this one keeps working)",
  })
  @ApiNoContentResponse()
  @ApiBadRequestResponse({
    type: ErrorBodyDto,
    description: 'Wrong currentPassword, or newPassword fails the policy (details.fieldErrors)',
  })
  @ApiUnauthorizedResponse({ type: ErrorBodyDto })
  @ApiConflictResponse({ type: ErrorBodyDto, description: 'The password was changed by another request meanwhile' })
  @ApiTooManyRequestsResponse({
    type: ErrorBodyDto,
    description: 'Too many wrong current passwords: locked out like sign-in (Retry-After)',
  })
  changePassword(
    @CurrentUser() user: AuthUser,
    @Body() dto: ChangePasswordDto,
    @AuthHttp() http: AuthExchange,
  ): Promise<void> {
    return this.auth.changePassword(user, dto, http);
  }

  @Get('me')
  @ApiBearerAuth('bearer')
  @ApiCookieAuth('cookie')
  @ApiOperation({ summary: 'The caller and their team' })
  @ApiOkResponse({ type: MeResponseDto })
  @ApiUnauthorizedResponse({ type: ErrorBodyDto })
  me(@CurrentUser() user: AuthUser): Promise<MeResponseDto> {
    return this.auth.me(user);
  }
}
