import { applyDecorators, SetMetadata } from '@nestjs/common';
import { ApiExtension } from '@nestjs/swagger';
import { PUBLIC_EXTENSION } from 'src/common/openapi/openapi-conventions';

export const IS_PUBLIC_KEY = 'isPublic';
/** Opts a route (or every route of a controller) out of the global JWT guard; documented as `security: []`. */
export const Public = () => applyDecorators(SetMetadata(IS_PUBLIC_KEY, true), ApiExtension(PUBLIC_EXTENSION, true));
