/**
 * Run profiles. Every notebook's config cell picks its sizes with `byProfile`:
 * `default` is the real experiment (what the committed notebooks show), `quick`
 * makes each notebook finish in about a minute for the tests.
 * Chosen by the environment variable DGR_PROFILE (unset = default).
 */
export const PROFILES = ['default', 'quick'] as const;
export type ProfileName = (typeof PROFILES)[number];

export function activeProfile(env: Readonly<Record<string, string | undefined>> = process.env): ProfileName {
  const value = env.DGR_PROFILE;
  if (value === undefined || value === '') return 'default';
  if ((PROFILES as readonly string[]).includes(value)) return value as ProfileName;
  throw new Error(`DGR_PROFILE=${value} is not a profile; use one of: ${PROFILES.join(', ')} (or leave it unset for default)`);
}

/** The value for the active profile. */
export function byProfile<T>(values: { readonly default: T; readonly quick: T }, profile: ProfileName = activeProfile()): T {
  return values[profile];
}
