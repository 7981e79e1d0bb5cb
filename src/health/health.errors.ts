import { AppError } from 'src/common/errors/app-error';
import { ErrorCode } from 'src/common/errors/error-code';
import { DRAIN_RETRY_AFTER_SEC } from 'src/common/drain/drain.service';

/** Errors of the health routes: 503 with Retry-After, so a load balancer takes the instance out. */
export const HealthErrors = {
  draining: () =>
    new AppError(ErrorCode.SERVICE_UNAVAILABLE, 'Instance is shutting down', {
      retryAfter: DRAIN_RETRY_AFTER_SEC,
      details: { draining: true },
    }),
  notReady: (down: string[], health: unknown) =>
    new AppError(
      ErrorCode.SERVICE_UNAVAILABLE,
      `Service is not ready: ${down.length ? down.join(', ') + ' unavailable' : 'a check failed'}`,
      {
        retryAfter: 1,
        details: { unavailable: down, health },
      },
    ),
};
