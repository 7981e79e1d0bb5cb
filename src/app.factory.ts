import { INestApplication, Logger, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import cookieParser from 'cookie-parser';
import express, { NextFunction, Request, Response } from 'express';
import helmet from 'helmet';
import { AppModule } from 'src/app.module';
import { AppError } from 'src/common/errors/app-error';
import { ErrorCode } from 'src/common/errors/error-code';
import { AllExceptionsFilter } from 'src/common/filters/all-exceptions.filter';
import { ErrorBodyDto } from 'src/common/filters/error-body';
import { applyOpenApiConventions, operationId } from 'src/common/openapi/openapi-conventions';
import { answerClientErrorsWithContractBody } from 'src/common/http/client-error';
import { isAllowedOrigin } from 'src/common/http/allowed-origin';
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
    .addServer('/', 'The server that serves this document (a client passes its own base URL)')
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' }, 'bearer')
    .addBearerAuth(
      { type: 'http', scheme: 'bearer', description: 'Team API key `cb_live_…` (/v1 and compat surfaces)' },
      'apiKey',
    )
    .addCookieAuth('access_token', { type: 'apiKey', in: 'cookie', name: 'access_token' }, 'cookie')
    .addSecurityRequirements('bearer')
    .addSecurityRequirements('cookie')
    .build();
  // package.json: "UNLICENSED" (proprietary): a license name with no URL to point at.
  doc.info.license = { name: 'UNLICENSED (proprietary)' };
  return applyOpenApiConventions(
    SwaggerModule.createDocument(app, doc, { operationIdFactory: operationId, extraModels: [ErrorBodyDto] }),
  );
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
  try {
    await app.init();
  } catch (err) {
    // A refusal at boot (a module's init failed): release what already started (database pool, Redis).
    await app.close().catch(() => undefined);
    throw err;
  }
  return app;
}

export function configureApp(app: NestExpressApplication, config: AppConfig): void {
  app.disable('x-powered-by');
  answerClientErrorsWithContractBody(app.getHttpServer());
  app.set('trust proxy', config.trustProxy);
  app.use(assignCorrelationId);
  app.use(
    helmet({
      contentSecurityPolicy: {
        useDefaults: true,
        // Swagger UI at /docs needs inline styles and its own scripts; everything else is JSON or SSE.
        directives: {
          'script-src': ["'self'", "'unsafe-inline'"],
          'style-src': ["'self'", "'unsafe-inline'", 'https:'],
        },
      },
      hsts: config.isProduction ? { maxAge: 31536000, includeSubDomains: true } : false,
      frameguard: { action: 'deny' },
      crossOriginResourcePolicy: { policy: 'same-site' },
    }),
  );
  app.use(refuseDisallowedPreflight(config, app.get(AllExceptionsFilter)));
  app.enableCors({
    origin: (origin, cb) => cb(null, !origin || isAllowedOrigin(origin, config)),
    credentials: true,
    exposedHeaders: ['X-Correlation-Id', 'Retry-After', 'Content-Disposition'],
  });
  app.use(cookieParser());
  app.use(express.json({ limit: config.bodyLimitBytes }));
  app.use(express.urlencoded({ extended: false, limit: config.bodyLimitBytes }));
  // Body-parser errors (413, malformed JSON) happen before Nest's pipeline: answer them with the same filter
  // (or, under a compatibility prefix, with that surface's filter, so the body has its system's shape).
  const canonical = app.get(AllExceptionsFilter);
  const n8n = app.get(N8nExceptionFilter);
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const filter = req.path.startsWith(`/${N8N_PREFIX}/`) ? n8n : canonical;
    filter.catch(err, {
      switchToHttp: () => ({ getRequest: () => req, getResponse: () => res, getNext: () => _next }),
    } as never);
  });
  if (config.docsEnabled) {
    // Built on the first request to /docs or /docs-json, not at boot (~8 % of a boot's CPU and its heap): Swagger
    // calls the factory once and keeps the document.
    SwaggerModule.setup('docs', app, () => buildOpenApi(app), {
      jsonDocumentUrl: 'docs-json',
      useGlobalPrefix: false,
    });
  }
  new Logger('Bootstrap').debug('application configured');
}

/**
 * A CORS preflight (OPTIONS with Origin and Access-Control-Request-Method) from an origin that is not in
 * CORS_ORIGINS: 403 FORBIDDEN with the contract body and no CORS headers (the browser then refuses the
 * request), rather than falling through to the router's 404. Allowed origins are answered by the CORS
 * middleware (204 with the headers).
 */
function refuseDisallowedPreflight(config: AppConfig, filter: AllExceptionsFilter) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const origin = req.headers.origin;
    if (
      req.method !== 'OPTIONS' ||
      !origin ||
      !req.headers['access-control-request-method'] ||
      config.corsOrigins.includes(origin)
    )
      return next();
    res.setHeader('Vary', 'Origin');
    const err = new AppError(ErrorCode.FORBIDDEN, 'Origin not allowed', {
      suggestion: 'Call the API from an origin listed in CORS_ORIGINS.',
    });
    filter.catch(err, {
      switchToHttp: () => ({ getRequest: () => req, getResponse: () => res, getNext: () => next }),
    } as never);
  };
}
