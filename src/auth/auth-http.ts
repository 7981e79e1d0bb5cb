import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import type { CookieOptions, Request, Response } from 'express';
import type { AppConfig } from 'src/config/env';
import { isAllowedOrigin } from 'src/common/http/allowed-origin';

export const ACCESS_COOKIE = 'access_token';
export const REFRESH_COOKIE = 'refresh_token';
/** The refresh cookie is only ever sent to the auth routes. */
export const REFRESH_COOKIE_PATH = '/api/auth';
const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export type AuthSource = 'bearer' | 'cookie';
export type AuthRequest = Request & { authSource?: AuthSource };

/** `Authorization: Bearer` wins over the cookie (a header cannot be attached cross-site by a browser). */
export function extractAccessToken(req: AuthRequest): string | null {
  const header = req.headers.authorization;
  if (typeof header === 'string' && /^Bearer\s+\S+/i.test(header)) {
    req.authSource = 'bearer';
    return header.replace(/^Bearer\s+/i, '').trim();
  }
  const cookie = (req.cookies as Record<string, unknown> | undefined)?.[ACCESS_COOKIE];
  if (typeof cookie === 'string' && cookie) {
    req.authSource = 'cookie';
    return cookie;
  }
  return null;
}

export function refreshCookie(req: Request): string | undefined {
  const v = (req.cookies as Record<string, unknown> | undefined)?.[REFRESH_COOKIE];
  return typeof v === 'string' && v ? v : undefined;
}

export const isUnsafeMethod = (req: Request): boolean => UNSAFE_METHODS.has(req.method.toUpperCase());

/** CSRF defence for cookie-authenticated state changes: the Origin header must be allowed (CORS_ORIGINS; local origins outside production). */
export function hasAllowedOrigin(req: Request, config: AppConfig): boolean {
  const origin = req.headers.origin;
  return typeof origin === 'string' && isAllowedOrigin(origin, config);
}

function baseCookie(config: AppConfig): CookieOptions {
  return { httpOnly: true, sameSite: 'strict', secure: config.auth.cookieSecure };
}

/**
 * Where the refresh cookie is sent: `REFRESH_COOKIE_PATH` for the canonical auth routes; a compatibility
 * surface whose auth routes live under its own prefix (e.g. `/compat/n8n/api/auth`) passes that path, or
 * the browser would never send the cookie to its refresh route.
 */
export interface AuthCookieScope {
  refreshPath: string;
}

export const CANONICAL_COOKIE_SCOPE: AuthCookieScope = { refreshPath: REFRESH_COOKIE_PATH };

export function setAuthCookies(
  res: Response,
  config: AppConfig,
  access: string,
  refresh: string,
  scope: AuthCookieScope = CANONICAL_COOKIE_SCOPE,
): void {
  res.cookie(ACCESS_COOKIE, access, { ...baseCookie(config), path: '/', maxAge: config.auth.accessTtlSec * 1000 });
  res.cookie(REFRESH_COOKIE, refresh, {
    ...baseCookie(config),
    path: scope.refreshPath,
    maxAge: config.auth.refreshTtlSec * 1000,
  });
}

export function clearAuthCookies(
  res: Response,
  config: AppConfig,
  scope: AuthCookieScope = CANONICAL_COOKIE_SCOPE,
): void {
  res.clearCookie(ACCESS_COOKIE, { ...baseCookie(config), path: '/' });
  res.clearCookie(REFRESH_COOKIE, { ...baseCookie(config), path: scope.refreshPath });
}

/** The client address as Express resolved it (honouring TRUST_PROXY). */
export function clientIp(req: Request): string {
  return req.ip ?? req.socket.remoteAddress ?? 'unknown';
}

export function userAgent(req: Request): string | null {
  return req.get('user-agent')?.slice(0, 500) ?? null;
}

/**
 * The HTTP side of an auth call as `AuthService` sees it: who asks, the credentials the request carries, and
 * the cookie jar of the response. Built from Express's request and response by `@AuthHttp()` in the
 * controller, so the service imports no HTTP types (issue 13: services return data, controllers answer HTTP).
 */
export interface AuthExchange {
  readonly ip: string;
  readonly userAgent: string | null;
  /** The refresh token of the cookie, if any. */
  readonly refreshCookie: string | undefined;
  /** The access token presented (`Authorization: Bearer` wins over the cookie); records how it came. */
  accessToken(): string | null;
  /** How the access token came, once `accessToken()` (or the JWT guard) looked. */
  authSource(): AuthSource | undefined;
  /** CSRF defence: the Origin header is allowed (see `hasAllowedOrigin`). */
  hasAllowedOrigin(config: AppConfig): boolean;
  setCookies(config: AppConfig, access: string, refresh: string, scope?: AuthCookieScope): void;
  clearCookies(config: AppConfig, scope?: AuthCookieScope): void;
}

export function authExchange(req: Request, res: Response): AuthExchange {
  return {
    ip: clientIp(req),
    userAgent: userAgent(req),
    refreshCookie: refreshCookie(req),
    accessToken: () => extractAccessToken(req as AuthRequest),
    authSource: () => (req as AuthRequest).authSource,
    hasAllowedOrigin: (config) => hasAllowedOrigin(req, config),
    setCookies: (config, access, refresh, scope) => setAuthCookies(res, config, access, refresh, scope),
    clearCookies: (config, scope) => clearAuthCookies(res, config, scope),
  };
}

/** The `AuthExchange` of this request (the response stays Nest's: the handler returns its body). */
export const AuthHttp = createParamDecorator((_: unknown, ctx: ExecutionContext): AuthExchange => {
  const http = ctx.switchToHttp();
  return authExchange(http.getRequest<Request>(), http.getResponse<Response>());
});
