/** What the experiment CLIs (npm run experiment, npm run experiment:merge) share about their exit codes. */
import type { CommanderError } from 'commander';

/**
 * Commander's exit callback: commander exits 1 on a usage error it catches (a missing required
 * option, an unknown option, a value outside its choices), but these CLIs document 2 for usage
 * errors and keep 1 for "could not start". Help and --version (exit code 0) stay 0. Commander has
 * printed its message by the time this runs.
 */
export function exitOnUsageError(e: CommanderError): never {
  process.exit(e.exitCode === 0 ? 0 : 2);
}
