import { Module } from '@nestjs/common';
import { SecretBox } from 'src/common/crypto/secret-box.service';

/** Secrets at rest. Needs the global APP_CONFIG. */
@Module({ providers: [SecretBox], exports: [SecretBox] })
export class CryptoModule {}
