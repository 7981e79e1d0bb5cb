import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiCookieAuth,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { ApiKeysService } from 'src/api-keys/api-keys.service';
import { ApiKeyListDto, ApiKeyResponseDto, CreatedApiKeyDto } from 'src/api-keys/dto/api-key-response.dto';
import { CreateApiKeyDto, ListApiKeysQueryDto } from 'src/api-keys/dto/create-api-key.dto';
import type { AuthUser } from 'src/common/auth-user';
import { CurrentUser } from 'src/common/decorators/current-user.decorator';
import { Roles } from 'src/common/decorators/roles.decorator';
import { ErrorBodyDto } from 'src/common/filters/error-body';

/** Team API keys, for admins (a user's JWT; an API key never reaches these routes). */
@ApiTags('api-keys')
@ApiBearerAuth('bearer')
@ApiCookieAuth('cookie')
@ApiUnauthorizedResponse({ type: ErrorBodyDto })
@Roles('admin')
@Controller('api/api-keys')
export class ApiKeysController {
  constructor(private readonly keys: ApiKeysService) {}

  @Post()
  @ApiOperation({ summary: 'Create a team API key (the key itself is shown only in this response)' })
  @ApiCreatedResponse({ type: CreatedApiKeyDto, description: 'The key is in `key`, shown only this once' })
  @ApiBadRequestResponse({ type: ErrorBodyDto })
  create(@CurrentUser() user: AuthUser, @Body() dto: CreateApiKeyDto): Promise<CreatedApiKeyDto> {
    return this.keys.create(user, dto);
  }

  @Get()
  @ApiOperation({ summary: "The team's API keys (never the keys themselves)" })
  @ApiOkResponse({ type: ApiKeyListDto })
  list(@CurrentUser() user: AuthUser, @Query() q: ListApiKeysQueryDto): Promise<ApiKeyListDto> {
    return this.keys.list(user.teamId, q.prefix);
  }

  @Get(':id')
  @ApiOperation({ summary: 'One API key of the team' })
  @ApiOkResponse({ type: ApiKeyResponseDto })
  @ApiNotFoundResponse({ type: ErrorBodyDto })
  get(@CurrentUser() user: AuthUser, @Param('id') id: string): Promise<ApiKeyResponseDto> {
    return this.keys.get(user.teamId, id);
  }

  @Delete(':id')
  @ApiOperation({ summary: 'Revoke an API key' })
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Revoked (at once, on every instance); revoking twice is a no-op' })
  @ApiNotFoundResponse({ type: ErrorBodyDto })
  revoke(@CurrentUser() user: AuthUser, @Param('id') id: string): Promise<void> {
    return this.keys.revoke(user, id);
  }
}
