import { AppError } from 'src/common/errors/app-error';
import { ErrorCode } from 'src/common/errors/error-code';

/** Errors of the monitoring feature (`/metrics`). */
export const MonitoringErrors = {
  metricsTokenRequired: () =>
    new AppError(ErrorCode.UNAUTHORIZED, 'A valid metrics token is required', {
      suggestion: 'Send Authorization: Bearer <METRICS_TOKEN>.',
    }),
  metricsNotServedHere: () =>
    new AppError(ErrorCode.NOT_FOUND, 'Metrics are not served on this port', {
      suggestion: 'Scrape the METRICS_HOST:METRICS_PORT listener, or set METRICS_TOKEN (required in production).',
    }),
  routeNotFound: () => AppError.notFound('Route'),
};
