import type { ResearchSessionSummaryDto, SessionMessageDto } from 'src/research/dto/research-session.dto';
import type { AgentHistoryItemDto } from 'src/research/dto/agent-history.dto';
import type { FeedbackResponseDto } from 'src/research/dto/feedback.dto';
import type { ResearchEvent } from 'src/research/entities/research-event.entity';
import type { ResearchFeedback } from 'src/research/entities/research-feedback.entity';
import type { ResearchMessage } from 'src/research/entities/research-message.entity';
import type { ResearchSession } from 'src/research/entities/research-session.entity';

export function toSessionSummary(s: ResearchSession): ResearchSessionSummaryDto {
  return {
    id: s.id,
    status: s.status,
    title: s.title,
    query: s.query,
    progress: s.progress,
    currentPhase: s.currentPhase,
    error: s.error,
    metadata: s.metadata,
    createdAt: s.createdAt.toISOString(),
    updatedAt: s.updatedAt.toISOString(),
  };
}

export function toSessionMessage(m: ResearchMessage): SessionMessageDto {
  return { id: m.messageId, role: m.role, content: m.content, timestamp: m.sentAt.toISOString(), metadata: m.metadata };
}

/** An `agent_start`/`agent_complete` event of the agent history (the query selects only events with an agent). */
export function toAgentHistoryItem(e: ResearchEvent): AgentHistoryItemDto {
  return {
    type: e.type,
    sessionId: e.sessionId,
    agentId: e.agentId as string,
    agentType: e.agentType as string,
    data: e.data,
    timestamp: e.createdAt.toISOString(),
  };
}

export function toFeedbackResponse(f: ResearchFeedback): FeedbackResponseDto {
  return {
    success: true,
    id: f.id,
    sessionId: f.sessionId,
    messageId: f.messageId,
    rating: f.rating,
    createdAt: f.createdAt.toISOString(),
  };
}
