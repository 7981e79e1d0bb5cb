import { Allow, IsDefined } from 'class-validator';
import { LenientDto } from 'src/common/pipes/validation.pipe';

/**
 * Request bodies of the n8n chat backend (seeds 001 and 003), field names as its frontend sends them.
 * These classes only name the accepted fields (`@Allow`; anything else is dropped by the surface's lenient
 * pipe): every rule is the canonical DTO's, checked after mapping (n8n.mapper.ts → validateAs).
 */

@LenientDto()
export class N8nRegisterDto {
  @Allow() email: unknown;
  @Allow() password: unknown;
  /** The seed's only way in (its register requires it); the canonical open sign-up checks the rest. */
  @IsDefined({ message: 'team_id is required' }) team_id: unknown;
  @Allow() full_name?: unknown;
}

@LenientDto()
export class N8nLoginDto {
  @Allow() email: unknown;
  @Allow() password: unknown;
}

/** POST /api/agents (all of it) and PUT /api/agents/:id (the fields sent). */
@LenientDto()
export class N8nAgentDto {
  @Allow() name?: unknown;
  @Allow() description?: unknown;
  @Allow() webhook_url?: unknown;
  @Allow() webhook_token?: unknown;
  @Allow() system_prompt?: unknown;
  /** Free-form in the seed; `model`, `temperature`, `max_tokens` and `top_p` are kept, other keys ignored. */
  @Allow() config?: unknown;
  @Allow() is_active?: unknown;
}

@LenientDto()
export class N8nCreateChatDto {
  @Allow() agent_id: unknown;
  @Allow() title?: unknown;
  @Allow() metadata?: unknown;
}

@LenientDto()
export class N8nUpdateChatDto {
  @Allow() title?: unknown;
  @Allow() metadata?: unknown;
  @Allow() is_archived?: unknown;
}

@LenientDto()
export class N8nSendMessageDto {
  @Allow() content: unknown;
}
