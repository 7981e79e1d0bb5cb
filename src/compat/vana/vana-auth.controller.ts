import { Body, Controller, Get, HttpCode, Post, UseFilters, UsePipes } from '@nestjs/common';
import { ApiBearerAuth, ApiExcludeEndpoint, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AuthExchange, AuthHttp } from 'src/auth/auth-http';
import { AuthService } from 'src/auth/auth.service';
import type { AuthUser } from 'src/common/auth-user';
import { CurrentUser } from 'src/common/decorators/current-user.decorator';
import { Public } from 'src/common/decorators/public.decorator';
import { createLenientValidationPipe } from 'src/common/pipes/validation.pipe';
import {
  VanaAuthResponseDto,
  VanaLoginDto,
  VanaRefreshDto,
  VanaTokenDto,
  VanaUserDto,
} from 'src/compat/vana/dto/vana-auth.dto';
import { VanaExceptionFilter } from 'src/compat/vana/vana-exception.filter';
import { toLoginDto, toRefreshDto, toVanaAuth, toVanaMe, toVanaToken } from 'src/compat/vana/vana.mapper';
import { ApiErrorBody } from 'src/common/openapi/api-error-body.decorator';
import { VanaErrorBodyDto } from 'src/compat/vana/dto/vana-session.dto';

/** Vana's auth routes as its client calls them (client.ts): login, refresh with `{refresh_token}`, me, logout. */
@ApiTags('compat: vana')
@ApiErrorBody(VanaErrorBodyDto)
@UseFilters(VanaExceptionFilter)
@UsePipes(createLenientValidationPipe())
@Controller('compat/vana')
export class VanaAuthController {
  constructor(private readonly auth: AuthService) {}

  @Public()
  @Post('api/auth/login')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Vana login: `{username|email, password}` → `{user, tokens: {access_token, refresh_token, token_type, expires_in}}`',
  })
  @ApiOkResponse({ type: VanaAuthResponseDto })
  login(@Body() dto: VanaLoginDto, @AuthHttp() http: AuthExchange): Promise<VanaAuthResponseDto> {
    return this.auth.login(toLoginDto(dto), http).then(toVanaAuth);
  }

  @Public()
  @Post('api/auth/refresh')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Vana refresh: `{refresh_token}` → the Token `{access_token, refresh_token, token_type, expires_in}`',
  })
  @ApiOkResponse({ type: VanaTokenDto })
  refresh(@Body() dto: VanaRefreshDto, @AuthHttp() http: AuthExchange): Promise<VanaTokenDto> {
    return this.auth.refresh(toRefreshDto(dto), http).then(toVanaToken);
  }

  @Get('api/auth/me')
  @ApiOperation({ summary: "Vana's current user" })
  @ApiBearerAuth('bearer')
  @ApiOkResponse({ type: VanaUserDto })
  me(@CurrentUser() user: AuthUser): Promise<VanaUserDto> {
    return this.auth.me(user).then(toVanaMe);
  }

  @Public()
  @Post('auth/logout')
  @HttpCode(200)
  @ApiOperation({ summary: 'Vana logout: `{refresh_token}` → `{message}`' })
  async logout(@Body() dto: VanaRefreshDto, @AuthHttp() http: AuthExchange): Promise<{ message: string }> {
    await this.auth.logout(toRefreshDto(dto), http);
    return { message: 'Successfully logged out' };
  }

  @Public()
  @Post('api/auth/logout')
  @HttpCode(200)
  @ApiExcludeEndpoint()
  logoutApi(@Body() dto: VanaRefreshDto, @AuthHttp() http: AuthExchange): Promise<{ message: string }> {
    return this.logout(dto, http);
  }
}
