import { Injectable } from '@nestjs/common';
import { LlmProvider, LlmProviderName } from 'src/llm/llm.types';
import { GeminiProvider } from 'src/llm/providers/gemini.provider';
import { MockProvider } from 'src/llm/providers/mock.provider';
import { N8nProvider } from 'src/llm/providers/n8n.provider';
import { OpenAiProvider } from 'src/llm/providers/openai.provider';

/** The adapters by provider name. */
@Injectable()
export class LlmProviderRegistry {
  private readonly byName: Record<LlmProviderName, LlmProvider>;

  constructor(gemini: GeminiProvider, openai: OpenAiProvider, n8n: N8nProvider, mock: MockProvider) {
    this.byName = { gemini, openai, n8n, mock };
  }

  /** undefined for a name that is not a known provider (bad data must not crash the caller). */
  get(name: LlmProviderName): LlmProvider | undefined {
    return Object.hasOwn(this.byName, name) ? this.byName[name] : undefined;
  }
}
