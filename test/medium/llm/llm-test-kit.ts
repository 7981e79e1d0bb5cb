import { AppError } from 'src/common/errors/app-error';
import { ErrorCode } from 'src/common/errors/error-code';
import { LoggerService } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { BreakerRegistry } from 'src/common/circuit/breaker-registry.service';
import { CircuitModule } from 'src/common/circuit/circuit.module';
import { MetricsModule } from 'src/common/metrics/metrics.module';
import { DataSource } from 'typeorm';
import { Global, Module } from '@nestjs/common';
import { AppConfig } from 'src/config/env';
import { ConfigModule } from 'src/config/config.module';
import { LlmModule } from 'src/llm/llm.module';
import { LlmService } from 'src/llm/llm.service';
import { LlmAgentConfig, LlmChunk } from 'src/llm/llm.types';
import { llmTestConfig } from 'test/fakes/llm-test-config';

/** Collects every log line (so tests can assert that no secret is ever logged) and prints none. */
export class CapturingLogger implements LoggerService {
  readonly lines: string[] = [];
  log(...args: unknown[]): void {
    this.push(args);
  }
  error(...args: unknown[]): void {
    this.push(args);
  }
  warn(...args: unknown[]): void {
    this.push(args);
  }
  debug(...args: unknown[]): void {
    this.push(args);
  }
  verbose(...args: unknown[]): void {
    this.push(args);
  }
  private push(args: unknown[]): void {
    this.lines.push(
      args
        .map((a) => (a instanceof Error ? `${a.message} ${a.stack}` : typeof a === 'string' ? a : JSON.stringify(a)))
        .join(' '),
    );
  }
}

export interface LlmKit {
  service: LlmService;
  breakers: BreakerRegistry;
  config: AppConfig;
  logger: CapturingLogger;
  close(): Promise<void>;
}

/**
 * The global DataSource the app's DatabaseModule provides, here never connected: the LLM layer uses no
 * database, and MetricsService only reads its pool figures on a scrape (none without a connection).
 */
@Global()
@Module({
  providers: [{ provide: DataSource, useFactory: () => new DataSource({ type: 'postgres' }) }],
  exports: [DataSource],
})
class UnconnectedDataSourceModule {}

/** LlmModule wired as the app wires it (global ConfigModule, CircuitModule, MetricsModule), with a test config. */
export async function createLlmKit(overrides: Record<string, string> = {}): Promise<LlmKit> {
  const config = llmTestConfig(overrides);
  const logger = new CapturingLogger();
  const moduleRef = await Test.createTestingModule({
    imports: [ConfigModule.forRoot(config), CircuitModule, UnconnectedDataSourceModule, MetricsModule, LlmModule],
  })
    .setLogger(logger)
    .compile();
  return {
    service: moduleRef.get(LlmService),
    breakers: moduleRef.get(BreakerRegistry),
    config,
    logger,
    close: () => moduleRef.close(),
  };
}

let seq = 0;
/** An agent config with a unique id (so each test gets a fresh breaker). */
export function agentFor(partial: Partial<LlmAgentConfig> & Pick<LlmAgentConfig, 'provider'>): LlmAgentConfig {
  seq++;
  return { id: `agent-${seq}-${Date.now()}`, name: `Agent ${seq}`, model: 'test-model', config: {}, ...partial };
}

export interface Collected {
  chunks: LlmChunk[];
  text: string;
  error: unknown;
}

/** Drains a stream, keeping what arrived before an error (the caller's view of partial output). */
export async function collect(stream: AsyncIterable<LlmChunk>): Promise<Collected> {
  const chunks: LlmChunk[] = [];
  let error: unknown = null;
  try {
    for await (const c of stream) chunks.push(c);
  } catch (err) {
    error = err;
  }
  const text = chunks.map((c) => (c.type === 'delta' ? c.content : '')).join('');
  return { chunks, text, error };
}

export const deltasOf = (chunks: LlmChunk[]): string[] =>
  chunks.flatMap((c) => (c.type === 'delta' ? [c.content] : []));
export const statusesOf = (chunks: LlmChunk[]) => chunks.flatMap((c) => (c.type === 'status' ? [c] : []));
export const usageOf = (chunks: LlmChunk[]) => chunks.flatMap((c) => (c.type === 'usage' ? [c.usage] : []))[0];

export const USER_MESSAGES = [
  { role: 'user' as const, content: 'What is the capital of France?' },
  { role: 'assistant' as const, content: 'Paris.' },
  { role: 'user' as const, content: 'And of Italy?' },
];

/** Asserts `err` is an AppError with this code and returns it typed. */
export function expectAppError(err: unknown, code: ErrorCode): AppError {
  expect(err).toBeInstanceOf(AppError);
  expect((err as AppError).code).toBe(code);
  return err as AppError;
}
