/** Whether the command line asks for the usage (`--help` or `-h`): printed on stdout, exit 0. */
export const asksForHelp = (argv: readonly string[]): boolean => argv.includes('--help') || argv.includes('-h');

/**
 * A parseArgs error in one line. Node's own text runs to three lines for an option whose value looks like
 * another option, and advises a `--` before an unknown one, which `npm run` has already taken: the usage
 * printed after this line is the fix. Its other errors are one line already.
 */
export function argumentProblem(err: Error): string {
  const unknown = /Unknown option '([^']+)'/.exec(err.message);
  if (unknown) return `unknown option ${unknown[1]}`;
  const valueless = /Option '([^' ]+)(?: <value>)?' argument (missing|is ambiguous)/.exec(err.message);
  if (valueless) {
    const [, option, why] = valueless;
    return `${option} needs a value${why === 'missing' ? '' : `; write ${option}=VALUE for one that starts with "-"`}`;
  }
  return err.message;
}

/**
 * The first option given a blank value, which a command would read as none (or, for a folder, as the current one):
 * refused as usage. Options that may repeat are checked value by value.
 */
export function blankOption(values: Readonly<Record<string, unknown>>): string | undefined {
  return Object.entries(values).find(([, v]) => [v].flat().some((x) => typeof x === 'string' && x.trim() === ''))?.[0];
}

/** An option's whole number from 1 to `max`, or undefined for anything else (`1.5`, `5s`, `-5`, 0, past max). */
export function wholeNumberUpTo(value: string, max: number): number | undefined {
  return /^\d+$/.test(value) && Number(value) >= 1 && Number(value) <= max ? Number(value) : undefined;
}
