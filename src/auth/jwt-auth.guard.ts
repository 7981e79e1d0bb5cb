import { ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import { AuthErrors } from 'src/auth/auth.errors';
import { AuthRequest, hasAllowedOrigin, isUnsafeMethod } from 'src/auth/auth-http';
import type { AuthUser } from 'src/common/auth-user';
import { IS_PUBLIC_KEY } from 'src/common/decorators/public.decorator';
import { requestContext } from 'src/common/logging/request-context';
import { APP_CONFIG, AppConfig } from 'src/config/env';

/**
 * The global front door (APP_GUARD): every route needs a valid access token (Bearer or cookie) unless
 * marked `@Public()`. Cookie-authenticated unsafe requests must also come from an allowed Origin (CSRF).
 * Sets `request.user` and puts userId/teamId into the request's log context.
 */
@Injectable()
export class JwtAuthGuard extends AuthGuard('jwt') {
  constructor(
    private readonly reflector: Reflector,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    super();
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const isPublic = this.reflector.getAllAndOverride<boolean>(IS_PUBLIC_KEY, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (isPublic) return true;
    await super.canActivate(context);
    const req = context.switchToHttp().getRequest<AuthRequest & { user: AuthUser }>();
    if (req.authSource === 'cookie' && isUnsafeMethod(req) && !hasAllowedOrigin(req, this.config))
      throw AuthErrors.forbiddenOrigin();
    const store = requestContext.getStore();
    if (store) {
      store.userId = req.user.id;
      store.teamId = req.user.teamId;
    }
    return true;
  }

  handleRequest<TUser = AuthUser>(err: unknown, user: TUser | false, info: unknown): TUser {
    if (err) throw err as Error;
    if (!user) {
      const name = (info as { name?: string } | undefined)?.name;
      throw AuthErrors.unauthorized(
        name === 'TokenExpiredError'
          ? 'Access token expired'
          : name === 'JsonWebTokenError'
            ? 'Invalid access token'
            : 'Authentication required',
      );
    }
    return user;
  }
}
