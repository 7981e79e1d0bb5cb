import { applyDecorators, SetMetadata } from '@nestjs/common';
import { ApiForbiddenResponse } from '@nestjs/swagger';
import type { Role } from 'src/common/auth-user';

export const ROLES_KEY = 'roles';
/** Restricts a route to the given roles (checked by the global RolesGuard). */
export const Roles = (...roles: Role[]) =>
  applyDecorators(SetMetadata(ROLES_KEY, roles), ApiForbiddenResponse({ description: `Requires role: ${roles.join(', ')}` }));
