import { INestApplication, Logger, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import cookieParser from 'cookie-parser';
import express, { NextFunction, Request, Response } from 'express';
import helmet from 'helmet';
import { AppModule } from 'src/app.module';
import { AllExceptionsFilter } from 'src/common/filters/all-exceptions.filter';
import { N8N_PREFIX } from 'src/compat/n8n/n8n-compat';
import { N8nExceptionFilter } from 'src/compat/n8n/n8n-exception.filter';
import { assignCorrelationId } from 'src/common/middleware/correlation-id.middleware';
import { AppLogger, createPino } from 'src/common/logging/logger';
import type { AppConfig } from 'src/config/env';

/** Builds the OpenAPI document from the code (served at /docs-json and written to openapi.json). */
export function buildOpenApi(app: INestApplication): OpenAPIObject {
  const doc = new DocumentBuilder()
    .setTitle('Chat backend API')
    .setDescription('Streaming chat with LLM agents and multi-agent research. Contract: docs/api.md')
    .setVersion('1.0.0')
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' }, 'bearer')
    .addCookieAuth('access_token', { type: 'apiKey', in: 'cookie', name: 'access_token' }, 'cookie')
    .build();
  return SwaggerModule.createDocument(app, doc);
}

/**
 * Creates the application exactly as production runs it (tests call this too): logger, security
 * headers, CORS, body limits, cookies, Swagger. Routes keep their full paths (`/api/...`, `/health`,
 * `/metrics`, Vana's `/agent_network_sse/...`), so there is no global prefix.
 */
export async function createApp(config: AppConfig, extraImports: Type[] = []): Promise<NestExpressApplication> {
  const logger = new AppLogger(createPino(config.logLevel));
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config, extraImports), {
    logger,
    bodyParser: false,
    abortOnError: false,
  });
  configureApp(app, config);
  await app.init();
  return app;
}

export function configureApp(app: NestExpressApplication, config: AppConfig): void {
  app.disable('x-powered-by');
  app.set('trust proxy', config.trustProxy);
  app.use(assignCorrelationId);
  app.use(
    helmet({
      contentSecurityPolicy: {
        useDefaults: true,
        // Swagger UI at /docs needs inline styles and its own scripts; everything else is JSON or SSE.
        directives: { 'script-src': ["'self'", "'unsafe-inline'"], 'style-src': ["'self'", "'unsafe-inline'", 'https:'] },
      },
      hsts: config.isProduction ? { maxAge: 31536000, includeSubDomains: true } : false,
      frameguard: { action: 'deny' },
      crossOriginResourcePolicy: { policy: 'same-site' },
    }),
  );
  app.enableCors({
    origin: (origin, cb) => cb(null, !origin || config.corsOrigins.includes(origin)),
    credentials: true,
    exposedHeaders: ['X-Correlation-Id', 'Retry-After', 'Content-Disposition'],
  });
  app.use(cookieParser());
  app.use(express.json({ limit: config.bodyLimitBytes }));
  app.use(express.urlencoded({ extended: false, limit: config.bodyLimitBytes }));
  // Body-parser errors (413, malformed JSON) happen before Nest's pipeline: answer them with the same filter
  // (or, under a compatibility prefix, with that surface's filter, so the body has its system's shape).
  const canonical = new AllExceptionsFilter();
  const n8n = new N8nExceptionFilter();
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const filter = req.path.startsWith(`/${N8N_PREFIX}/`) ? n8n : canonical;
    filter.catch(err, {
      switchToHttp: () => ({ getRequest: () => req, getResponse: () => res, getNext: () => _next }),
    } as never);
  });
  const document = buildOpenApi(app);
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json', useGlobalPrefix: false });
  new Logger('Bootstrap').debug('application configured');
}
