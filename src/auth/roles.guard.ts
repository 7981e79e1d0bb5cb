import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthErrors } from 'src/auth/auth.errors';
import type { AuthUser, Role } from 'src/common/auth-user';
import { ROLES_KEY } from 'src/common/decorators/roles.decorator';

/** Honours `@Roles(...)` (after JwtAuthGuard): a caller without one of the roles gets 403 FORBIDDEN. */
@Injectable()
export class RolesGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    const roles = this.reflector.getAllAndOverride<Role[] | undefined>(ROLES_KEY, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (!roles?.length) return true;
    const user = context.switchToHttp().getRequest<{ user?: AuthUser }>().user;
    if (!user) throw AuthErrors.unauthorized();
    if (!roles.includes(user.role)) throw AuthErrors.forbiddenRole(roles);
    return true;
  }
}
