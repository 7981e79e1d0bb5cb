import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import type { AuthUser } from 'src/common/auth-user';

/** The authenticated caller (set by the JWT guard). */
export const CurrentUser = createParamDecorator((_: unknown, ctx: ExecutionContext): AuthUser => {
  return ctx.switchToHttp().getRequest<{ user: AuthUser }>().user;
});
