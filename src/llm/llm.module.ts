import { Module } from '@nestjs/common';
import { AgentBreakers } from 'src/llm/agent-breakers';
import { LlmService } from 'src/llm/llm.service';
import { LlmProviderRegistry } from 'src/llm/provider-registry';
import { GeminiProvider } from 'src/llm/providers/gemini.provider';
import { MockProvider } from 'src/llm/providers/mock.provider';
import { N8nProvider } from 'src/llm/providers/n8n.provider';
import { OpenAiProvider } from 'src/llm/providers/openai.provider';

/**
 * The provider layer. Needs the global APP_CONFIG (ConfigModule) and BreakerRegistry (CircuitModule).
 * Exports LlmService, and MockProvider for features that script its replies (`addScript`); url-safety is a plain module of functions (src/llm/url-safety.ts).
 */
@Module({
  providers: [
    GeminiProvider,
    OpenAiProvider,
    N8nProvider,
    MockProvider,
    LlmProviderRegistry,
    AgentBreakers,
    LlmService,
  ],
  exports: [LlmService, MockProvider],
})
export class LlmModule {}
