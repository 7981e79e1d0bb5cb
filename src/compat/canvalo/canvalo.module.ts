import { Module } from '@nestjs/common';
import { AgentsModule } from 'src/agents/agents.module';
import { ApiKeysModule } from 'src/api-keys/api-keys.module';
import { ChatsModule } from 'src/chats/chats.module';
import { CanvaloController } from 'src/compat/canvalo/canvalo.controller';
import { CanvaloService } from 'src/compat/canvalo/canvalo.service';
import { RoutingModule } from 'src/routing/routing.module';

/** Canvalo's stateless streaming chat and conversations (docs/compat.md). */
@Module({
  imports: [ApiKeysModule, AgentsModule, ChatsModule, RoutingModule],
  controllers: [CanvaloController],
  providers: [CanvaloService],
})
export class CanvaloModule {}
