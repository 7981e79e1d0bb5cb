import type { INestApplication } from '@nestjs/common';
import passport from 'passport';
import { JwtStrategy } from 'src/auth/jwt.strategy';

/**
 * Several app instances in ONE test process share passport's global strategy registry: @nestjs/passport
 * registers every JwtStrategy in the `passport` singleton under the same name ('jwt'), so the instance
 * created last authenticates the requests of every app of the process (with its own caches: member cache,
 * denylist). Separate processes (production) each have their own. Tests that want a request to be
 * authenticated by the instance it goes to call this first, with that instance, and checked: otherwise a
 * check "on A" would really run B's strategy and prove nothing about A.
 *
 * passport picks the strategy when the request reaches the guard, so a request must have been
 * authenticated before the strategy is switched for a request to another instance (await it, or at least
 * its response headers).
 */
export function authenticateWith(app: INestApplication): void {
  passport.use('jwt', app.get(JwtStrategy));
  expect((passport as unknown as { _strategy(name: string): unknown })._strategy('jwt')).toBe(app.get(JwtStrategy));
}
