import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { APP_CONFIG, AppConfig } from 'src/config/env';
import { createDataSource } from 'src/database/data-source';

/**
 * TypeORM on PostgreSQL: the embedded server (DATA_DIR/postgres) by default, a real server when DATABASE_URL is set.
 * Feature modules register their entities with `TypeOrmModule.forFeature([...])` (autoLoadEntities).
 */
@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => ({
        type: 'postgres',
        autoLoadEntities: true,
        synchronize: false,
        retryAttempts: 2,
        retryDelay: 1000,
        _config: config,
      }),
      dataSourceFactory: async (options) => {
        const { _config: config, ...rest } = options as typeof options & { _config: AppConfig };
        return createDataSource(config, rest);
      },
    }),
  ],
})
export class DatabaseModule {}
