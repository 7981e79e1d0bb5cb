import { Module } from '@nestjs/common';
import { AuthModule } from 'src/auth/auth.module';
import { SseModule } from 'src/common/sse/sse.module';
import { ResearchModule } from 'src/research/research.module';
import { VanaAuthController } from 'src/compat/vana/vana-auth.controller';
import { VanaResearchController } from 'src/compat/vana/vana-research.controller';
import { VanaSessionsController } from 'src/compat/vana/vana-sessions.controller';
import { VanaNotFoundController } from 'src/compat/vana/vana-not-found.controller';

/**
 * Vana's API under /compat/vana (docs/compat.md): controllers, DTOs and mappers over the canonical auth and
 * research services; no rule of its own.
 */
@Module({
  imports: [AuthModule, ResearchModule, SseModule],
  controllers: [VanaAuthController, VanaResearchController, VanaSessionsController, VanaNotFoundController],
})
export class VanaCompatModule {}
