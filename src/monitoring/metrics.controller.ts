import { Controller, Get, Header, UseGuards } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProduces,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { prometheusContentType } from 'prom-client';
import { Public } from 'src/common/decorators/public.decorator';
import { ErrorBodyDto } from 'src/common/filters/error-body';
import { MetricsService } from 'src/common/metrics/metrics.service';
import { MetricsTokenGuard } from 'src/monitoring/metrics-token.guard';

/** Prometheus scrape endpoint (no /api prefix). Not a user route: the JWT guard lets it through. */
@ApiTags('operations')
@Public()
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: MetricsService) {}

  @Get()
  @UseGuards(MetricsTokenGuard)
  @Header('Content-Type', prometheusContentType)
  @Header('Cache-Control', 'no-store')
  @ApiBearerAuth('bearer')
  @ApiOperation({ summary: 'Prometheus metrics (text format); Bearer METRICS_TOKEN when configured' })
  @ApiProduces(prometheusContentType)
  @ApiOkResponse({ description: 'Prometheus text exposition format', schema: { type: 'string' } })
  @ApiUnauthorizedResponse({
    type: ErrorBodyDto,
    description: 'METRICS_TOKEN is set and the bearer token is missing or wrong',
  })
  @ApiNotFoundResponse({
    type: ErrorBodyDto,
    description:
      'Not served here: in production without METRICS_TOKEN, or when METRICS_PORT moves it to its own listener',
  })
  scrape(): Promise<string> {
    return this.metrics.render();
  }
}
