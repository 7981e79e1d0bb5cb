import { Module } from '@nestjs/common';
import { SseResponder } from 'src/common/sse/sse-responder';

/** Provides `SseResponder` to the feature modules whose controllers stream (chats, research, compat). */
@Module({ providers: [SseResponder], exports: [SseResponder] })
export class SseModule {}
