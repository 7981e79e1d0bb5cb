/** What the JWT guard puts on `request.user`: the caller, always with their team. */
export type Role = 'admin' | 'user';

export interface AuthUser {
  id: string;
  teamId: string;
  role: Role;
  email: string;
  /** The access token's id, for the denylist on logout. */
  jti: string;
  /** Access token expiry, seconds since epoch. */
  exp: number;
}
