import { Module } from '@nestjs/common';
import { JwtModule } from '@nestjs/jwt';
import { PassportModule } from '@nestjs/passport';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AccessDenylistService } from 'src/auth/access-denylist.service';
import { AuthPrefetch } from 'src/auth/auth-prefetch';
import { AccessTokenService } from 'src/auth/access-token.service';
import { AuthHousekeepingService } from 'src/auth/auth-housekeeping.service';
import { AuthCounterRepository } from 'src/auth/auth-counter.repository';
import { AuthCounterStore } from 'src/auth/auth-counter.store';
import { AuthController } from 'src/auth/auth.controller';
import { AuthService } from 'src/auth/auth.service';
import { BootstrapService } from 'src/auth/bootstrap.service';
import { BruteForceService } from 'src/auth/brute-force.service';
import { AuthCounter } from 'src/auth/entities/auth-counter.entity';
import { InstanceSecretCheck } from 'src/auth/entities/instance-secret-check.entity';
import { RefreshTokenFamily } from 'src/auth/entities/refresh-token-family.entity';
import { RefreshToken } from 'src/auth/entities/refresh-token.entity';
import { RevokedAccessToken } from 'src/auth/entities/revoked-access-token.entity';
import { InstanceSecretsCheckRepository } from 'src/auth/instance-secrets-check.repository';
import { InstanceSecretsCheckService } from 'src/auth/instance-secrets-check.service';
import { JwtStrategy } from 'src/auth/jwt.strategy';
import { PasswordHasher } from 'src/auth/password-hasher.service';
import { RefreshTokenRepository } from 'src/auth/refresh-token.repository';
import { RevokedAccessTokenRepository } from 'src/auth/revoked-access-token.repository';
import { TeamsModule } from 'src/teams/teams.module';

/**
 * Authentication. The global guards (JwtAuthGuard, RolesGuard) are registered as APP_GUARD in AppModule;
 * their dependencies are exported from here.
 */
@Module({
  imports: [
    TeamsModule,
    PassportModule,
    JwtModule.register({}),
    TypeOrmModule.forFeature([RefreshTokenFamily, RefreshToken, RevokedAccessToken, AuthCounter, InstanceSecretCheck]),
  ],
  controllers: [AuthController],
  providers: [
    AuthService,
    AccessTokenService,
    AccessDenylistService,
    AuthPrefetch,
    RevokedAccessTokenRepository,
    RefreshTokenRepository,
    AuthCounterRepository,
    AuthCounterStore,
    BruteForceService,
    PasswordHasher,
    JwtStrategy,
    BootstrapService,
    AuthHousekeepingService,
    InstanceSecretsCheckRepository,
    InstanceSecretsCheckService,
  ],
  exports: [PasswordHasher, AccessDenylistService, AuthPrefetch, TeamsModule, AuthService],
})
export class AuthModule {}
