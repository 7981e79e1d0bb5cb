import { Body, Controller, Get, HttpCode, Post } from '@nestjs/common';
import { AuthExchange, AuthHttp } from 'src/auth/auth-http';
import { AuthService } from 'src/auth/auth.service';
import { LoginDto } from 'src/auth/dto/login.dto';
import { RegisterDto } from 'src/auth/dto/register.dto';
import type { AuthUser } from 'src/common/auth-user';
import { CurrentUser } from 'src/common/decorators/current-user.decorator';
import { Public } from 'src/common/decorators/public.decorator';
import { validateAs } from 'src/common/pipes/validation.pipe';
import { N8nLoginDto, N8nRegisterDto } from 'src/compat/n8n/dto/n8n-requests.dto';
import { N8N_COOKIE_SCOPE, N8N_PREFIX, N8nCompatController } from 'src/compat/n8n/n8n-compat';
import { N8nUser, toLogin, toN8nMe, toN8nUser, toRegister } from 'src/compat/n8n/n8n.mapper';

/** The n8n chat backend's auth routes over AuthService: cookies `access_token` and `refresh_token`. */
@N8nCompatController()
@Controller(`${N8N_PREFIX}/api/auth`)
export class N8nAuthController {
  constructor(private readonly auth: AuthService) {}

  /** Registration into an existing team by `team_id`: the canonical open sign-up (docs/decisions.md). */
  @Public()
  @Post('register')
  @HttpCode(201)
  async register(@Body() body: N8nRegisterDto, @AuthHttp() http: AuthExchange): Promise<N8nUser> {
    const registered = await this.auth.register(await validateAs(RegisterDto, toRegister(body)), http);
    return toN8nUser(registered.user);
  }

  @Public()
  @Post('login')
  @HttpCode(200)
  async login(@Body() body: N8nLoginDto, @AuthHttp() http: AuthExchange): Promise<{ message: string; user: N8nUser }> {
    const tokens = await this.auth.login(await validateAs(LoginDto, toLogin(body)), http, N8N_COOKIE_SCOPE);
    return { message: 'Login successful', user: toN8nUser(tokens.user) };
  }

  /** The refresh_token cookie only (the seed takes no body). */
  @Public()
  @Post('refresh')
  @HttpCode(200)
  async refresh(@AuthHttp() http: AuthExchange): Promise<{ message: string }> {
    await this.auth.refresh({}, http, N8N_COOKIE_SCOPE);
    return { message: 'Token refreshed successfully' };
  }

  @Public()
  @Post('logout')
  @HttpCode(200)
  async logout(@AuthHttp() http: AuthExchange): Promise<{ message: string }> {
    await this.auth.logout({}, http, N8N_COOKIE_SCOPE);
    return { message: 'Logged out successfully' };
  }

  @Get('me')
  async me(@CurrentUser() user: AuthUser): Promise<N8nUser> {
    return toN8nMe(await this.auth.me(user));
  }
}
