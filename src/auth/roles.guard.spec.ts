import { ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { RolesGuard } from 'src/auth/roles.guard';
import type { AuthUser, Role } from 'src/common/auth-user';
import { AppError } from 'src/common/errors/app-error';

function context(roles: Role[] | undefined, user?: Partial<AuthUser>): { ctx: ExecutionContext; reflector: Reflector } {
  const handler = () => undefined;
  const reflector = new Reflector();
  jest.spyOn(reflector, 'getAllAndOverride').mockReturnValue(roles);
  const ctx = {
    getHandler: () => handler,
    getClass: () => Object,
    switchToHttp: () => ({ getRequest: () => ({ user }) }),
  } as unknown as ExecutionContext;
  return { ctx, reflector };
}

function thrown(fn: () => unknown): AppError | undefined {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(AppError);
    return e as AppError;
  }
  return undefined;
}

describe('RolesGuard', () => {
  it('lets any caller through a route without @Roles', () => {
    const { ctx, reflector } = context(undefined, { role: 'user' });
    expect(new RolesGuard(reflector).canActivate(ctx)).toBe(true);
  });

  it('lets an admin through an admin route', () => {
    const { ctx, reflector } = context(['admin'], { role: 'admin' });
    expect(new RolesGuard(reflector).canActivate(ctx)).toBe(true);
  });

  it('refuses a user on an admin route with 403 FORBIDDEN', () => {
    const { ctx, reflector } = context(['admin'], { role: 'user' });
    expect(thrown(() => new RolesGuard(reflector).canActivate(ctx))).toMatchObject({ status: 403, code: 'FORBIDDEN' });
  });

  it('answers 401 when a role is required but nobody is authenticated', () => {
    const { ctx, reflector } = context(['admin'], undefined);
    expect(thrown(() => new RolesGuard(reflector).canActivate(ctx))).toMatchObject({
      status: 401,
      code: 'UNAUTHORIZED',
    });
  });
});
