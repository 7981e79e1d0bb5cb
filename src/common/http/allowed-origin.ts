import type { AppConfig } from 'src/config/env';

/** Any port of the local machine over plain HTTP: what a developer's browser, Swagger UI or front-end dev server sends. */
const LOCAL_ORIGIN = /^http:\/\/(localhost|127\.0\.0\.1)(:\d{1,5})?$/;

/**
 * Whether a browser origin may call the API with credentials (CORS) and make cookie-authenticated writes
 * (the CSRF check): the CORS_ORIGINS allow-list, and outside production also any http://localhost:* and
 * http://127.0.0.1:* origin, so cookie auth and Swagger's "Try it out" work whatever PORT the service runs on.
 * Production keeps the explicit allow-list only.
 */
export function isAllowedOrigin(origin: string, config: AppConfig): boolean {
  if (config.corsOrigins.includes(origin)) return true;
  return !config.isProduction && LOCAL_ORIGIN.test(origin);
}
