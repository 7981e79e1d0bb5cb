import type { MigrationInterface } from 'typeorm';
import { CreateAuditLogs1763800000000 } from './1763800000000-CreateAuditLogs';
import { CreateAuthAndTeams1763801000000 } from './1763801000000-CreateAuthAndTeams';
import { CreateAgents1763802000000 } from './1763802000000-CreateAgents';
import { CreateChats1763803000000 } from './1763803000000-CreateChats';
import { MessagesFinalEventIdAndSearchLimit1763803100000 } from './1763803100000-MessagesFinalEventIdAndSearchLimit';
import { CreateResearch1763804000000 } from './1763804000000-CreateResearch';
import { ResearchRunLeasesAndRetention1763804100000 } from './1763804100000-ResearchRunLeasesAndRetention';
import { CreateErrorLogs1763805000000 } from './1763805000000-CreateErrorLogs';
import { AuditLogsMillisecondPrecision1763805100000 } from './1763805100000-AuditLogsMillisecondPrecision';
import { CreateInstanceSecretsCheck1764600000000 } from './1764600000000-CreateInstanceSecretsCheck';
import { CreateApiKeys1764630000000 } from './1764630000000-CreateApiKeys';
import { MessagesToolCallsAndRouting1764630100000 } from './1764630100000-MessagesToolCallsAndRouting';

/**
 * Every migration, as imported classes (not a file glob), so the server still finds them when bundled into one
 * file (scripts/build.js). A new migration is added here; src/database/migrations-list.spec.ts fails on one missing.
 */
export const MIGRATIONS: (new () => MigrationInterface)[] = [
  CreateAuditLogs1763800000000,
  CreateAuthAndTeams1763801000000,
  CreateAgents1763802000000,
  CreateChats1763803000000,
  MessagesFinalEventIdAndSearchLimit1763803100000,
  CreateResearch1763804000000,
  ResearchRunLeasesAndRetention1763804100000,
  CreateErrorLogs1763805000000,
  AuditLogsMillisecondPrecision1763805100000,
  CreateInstanceSecretsCheck1764600000000,
  CreateApiKeys1764630000000,
  MessagesToolCallsAndRouting1764630100000,
];
