/**
 * Run profiles. Every notebook's config cell picks its sizes with `byProfile`:
 * - `default`: what a study group re-runs in class (≤ 10 min for the theory notebooks, ≤ 30 min for
 *   the experiments, on 2 cores);
 * - `quick`: each notebook in about a minute, for the tests;
 * - `paper`: the paper's architectures and budgets (where the paper is silent, the reference
 *   implementations'), for the reproduction notebooks 04–08; a notebook that gives no `paper`
 *   values runs its `default` ones there.
 * Chosen by the environment variable DGR_PROFILE (unset = default).
 */
export const PROFILES = ['default', 'quick', 'paper'] as const;
export type ProfileName = (typeof PROFILES)[number];

export function activeProfile(
  env: Readonly<Record<string, string | undefined>> = process.env,
): ProfileName {
  const value = env.DGR_PROFILE;
  if (value === undefined || value === '') return 'default';
  if ((PROFILES as readonly string[]).includes(value)) return value as ProfileName;
  throw new Error(
    `DGR_PROFILE=${value} is not a profile; use one of: ` +
      `${PROFILES.join(', ')} (or leave it unset for default)`,
  );
}

/** The sizes of each profile; `paper` may be left out (then it runs the `default` sizes). */
export interface ProfileValues<T> {
  readonly default: T;
  readonly quick: T;
  readonly paper?: T;
}

/**
 * The value for the active profile (`paper` falls back to `default` when a notebook gives none).
 */
export function byProfile<T>(values: ProfileValues<T>, profile: ProfileName = activeProfile()): T {
  if (profile === 'paper') return values.paper ?? values.default;
  return values[profile];
}
