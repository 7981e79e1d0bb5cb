import { Global, Module } from '@nestjs/common';
import { VersionStamps } from 'src/common/cache/version-stamps';

/** `VersionStamps`, which keeps in-process caches exact across instances (needs RedisModule's client). */
@Global()
@Module({ providers: [VersionStamps], exports: [VersionStamps] })
export class CacheModule {}
