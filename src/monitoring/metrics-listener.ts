import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import express, { NextFunction, Request, Response } from 'express';
import { AllExceptionsFilter } from 'src/common/filters/all-exceptions.filter';
import { MetricsService } from 'src/common/metrics/metrics.service';
import { assignCorrelationId } from 'src/common/middleware/correlation-id.middleware';
import { APP_CONFIG, AppConfig } from 'src/config/env';
import { MetricsTokenCheck } from 'src/monitoring/metrics-token.guard';
import { MonitoringErrors } from 'src/monitoring/monitoring.errors';

/**
 * An HTTP edge, not a service: like main.ts it owns a listener, so it speaks Express (services return data).
 * The separate `/metrics` listener (METRICS_PORT, on METRICS_HOST, default 127.0.0.1), so scrapes can stay
 * on a private network while the API is public. It serves only `GET /metrics` (METRICS_TOKEN still
 * required when set); anything else is 404 with the contract body. Not started without METRICS_PORT.
 */
@Injectable()
export class MetricsServer implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(MetricsServer.name);
  private server?: Server;

  constructor(
    private readonly metrics: MetricsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly filter: AllExceptionsFilter,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const { port, host } = this.config.metrics;
    if (port === undefined) return;
    const check = new MetricsTokenCheck(this.config.metricsToken);
    const app = express();
    app.disable('x-powered-by');
    app.use(assignCorrelationId);
    app.get('/metrics', (req: Request, res: Response, next: NextFunction) => {
      check.assert(req.headers.authorization);
      this.metrics
        .render()
        .then((text) =>
          res.status(200).set('Content-Type', this.metrics.contentType).set('Cache-Control', 'no-store').send(text),
        )
        .catch(next);
    });
    app.use((_req: Request, _res: Response, next: NextFunction) => next(MonitoringErrors.routeNotFound()));
    app.use((err: unknown, req: Request, res: Response, next: NextFunction) => {
      this.filter.catch(err, {
        switchToHttp: () => ({ getRequest: () => req, getResponse: () => res, getNext: () => next }),
      } as never);
    });
    const server = app.listen(port, host);
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
    this.server = server;
    this.logger.log(`Metrics listening on http://${host}:${this.port()}/metrics (not on the API port)`);
  }

  /** The port actually bound (METRICS_PORT=0 picks a free one), or undefined when not started. */
  port(): number | undefined {
    return (this.server?.address() as AddressInfo | null)?.port;
  }

  async onModuleDestroy(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections(); // keep-alive scrapers would otherwise hold the close
    await closed;
  }
}
