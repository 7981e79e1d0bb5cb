import { applyDecorators, SetMetadata } from '@nestjs/common';
import { ApiForbiddenResponse } from '@nestjs/swagger';
import type { Role } from 'src/common/auth-user';
import { ErrorBodyDto } from 'src/common/filters/error-body';

export const ROLES_KEY = 'roles';
/** Restricts a route to the given roles (checked by the global RolesGuard); documents its 403 with the contract body. */
export const Roles = (...roles: Role[]) =>
  applyDecorators(
    SetMetadata(ROLES_KEY, roles),
    ApiForbiddenResponse({ type: ErrorBodyDto, description: `FORBIDDEN: requires role: ${roles.join(', ')}` }),
  );
