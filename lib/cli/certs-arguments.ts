import { parseArgs } from 'node:util';
import { CertsUsageError } from '../certs/layout';
import { MAX_VALIDITY_DAYS } from '../pki/issue';
import { argumentProblem, blankOption, wholeNumberUpTo } from './arguments';

export const USAGE = `usage: npm run certs -- <command> [options]
  init [--recipient age1...]... [--ca-days N] [--server-days N] [--client-days N]
  issue-client NAME [--renew] [--days N] [--namespace NS]
  rotate [--ca | --finish-ca [--force]] [--server-days N]
  revoke NAME                     a CA rotation that re-issues every client but NAME; rotate --finish-ca ends it
  sync [--server-days N]          after a change of the app: re-home every Secret, re-issue server certificates if needed
  recipients add|remove age1...   re-encrypt every file in secrets/ to the new set of age recipients
  export NAME --out DIR [--force]
  check [--min-days N]
  migrate --tenant NAME           move a secrets/ of one CA (from before tenants) into that tenant's folder
common: --secrets DIR (default secrets); --tenant NAME when config.ts has tenants (check without it checks them all)
exit codes: 0 ok, 1 a check or the command failed, 2 usage`;

const OPTIONS = {
  secrets: { type: 'string', default: 'secrets' },
  recipient: { type: 'string', multiple: true },
  'client-namespace': { type: 'string' },
  namespace: { type: 'string' },
  'ca-days': { type: 'string' },
  'server-days': { type: 'string' },
  'client-days': { type: 'string' },
  days: { type: 'string' },
  'min-days': { type: 'string' },
  renew: { type: 'boolean' },
  ca: { type: 'boolean' },
  'finish-ca': { type: 'boolean' },
  force: { type: 'boolean' },
  out: { type: 'string' },
  tenant: { type: 'string' },
} as const;
type Option = keyof typeof OPTIONS;
const COMMON: readonly Option[] = ['secrets', 'tenant'];

/**
 * What each command takes beyond the common options: how many words follow it, and its own options. Anything
 * else is refused rather than ignored: `rotate --days 30` would otherwise issue for the default days.
 */
const COMMANDS: Readonly<Record<string, { readonly words: number; readonly options: readonly Option[] }>> = {
  init: { words: 0, options: ['recipient', 'ca-days', 'server-days', 'client-days', 'client-namespace'] },
  'issue-client': { words: 1, options: ['renew', 'days', 'namespace'] },
  rotate: { words: 0, options: ['ca', 'finish-ca', 'force', 'server-days'] },
  revoke: { words: 1, options: [] },
  sync: { words: 0, options: ['server-days'] },
  recipients: { words: 2, options: [] },
  export: { words: 1, options: ['out', 'force'] },
  check: { words: 0, options: ['min-days'] },
  migrate: { words: 0, options: [] },
};

/** A command line, parsed and checked against what its command takes; an unknown command is left to the caller. */
export function parseCertsArguments(argv: string[]) {
  let parsed: ReturnType<typeof parseArgs<{ args: string[]; options: typeof OPTIONS; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true });
  } catch (err) {
    throw new CertsUsageError(argumentProblem(err as Error));
  }
  const { values, positionals } = parsed;
  const blank = blankOption(values); // --secrets '' would be the current folder
  if (blank) throw new CertsUsageError(`--${blank} needs a value, and got a blank one`);
  const [command, ...words] = positionals;
  const takes = command !== undefined && Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
  if (takes) {
    if (words.length > takes.words) throw new CertsUsageError(`unexpected ${words.slice(takes.words).join(' ')}`);
    const stray = (Object.keys(values) as Option[]).find((o) => !COMMON.includes(o) && !takes.options.includes(o));
    if (stray) {
      // Options the usage no longer shows (--client-namespace) are taken only to say where they went.
      const shown = takes.options.filter((o) => USAGE.includes(`--${o}`));
      const own = shown.length ? shown.map((o) => `--${o}`).join(', ') : 'only --secrets and --tenant';
      throw new CertsUsageError(`${command} takes no --${stray}: it takes ${own}`);
    }
  }
  return { command, words, values };
}

/** A --*-days option's value: a whole number of days a certificate can be valid for. */
export function days(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const given = wholeNumberUpTo(value, MAX_VALIDITY_DAYS);
  if (given === undefined) throw new CertsUsageError(`--${flag} ${value}: use a whole number of days from 1 to ${MAX_VALIDITY_DAYS}`);
  return given;
}
