import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ApiKeyRepository } from 'src/api-keys/api-key.repository';
import { ApiKeyGuard } from 'src/api-keys/api-key.guard';
import { ApiKeysController } from 'src/api-keys/api-keys.controller';
import { ApiKeysService } from 'src/api-keys/api-keys.service';
import { ApiKey } from 'src/api-keys/entities/api-key.entity';

/** Team API keys (admin CRUD) and the guard that authenticates them (exported for /v1 and compat surfaces). */
@Module({
  imports: [TypeOrmModule.forFeature([ApiKey])],
  controllers: [ApiKeysController],
  providers: [ApiKeyRepository, ApiKeysService, ApiKeyGuard],
  exports: [ApiKeysService, ApiKeyGuard],
})
export class ApiKeysModule {}
