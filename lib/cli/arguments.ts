/** Whether the command line asks for the usage (`--help` or `-h`): printed on stdout, exit 0. */
export const asksForHelp = (argv: readonly string[]): boolean => argv.includes('--help') || argv.includes('-h');

/**
 * A parseArgs error in one line. Its unknown-option text advises a `--` before the argument, which `npm run`
 * has already taken: the usage printed after it is the fix.
 */
export function argumentProblem(err: Error & { code?: string }): string {
  const unknown = /^Unknown option '([^']+)'/.exec(err.message);
  return err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && unknown ? `unknown option ${unknown[1]}` : err.message;
}
