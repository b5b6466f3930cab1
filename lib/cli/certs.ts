import { resolve } from 'node:path';
import { App } from 'cdk8s';
import type { IConstruct } from 'constructs';
import { revoke, rotate } from '../certs/ca-rotation';
import { check } from '../certs/check';
import { changeRecipients, init, issueClient, sync } from '../certs/commands';
import { crossTenantProblems } from '../certs/cross-tenant';
import { exportClient } from '../certs/export';
import type { CertsContext } from '../certs/issuing';
import { CertsUsageError } from '../certs/layout';
import { migrateToTenant } from '../certs/migrate';
import { certsPlan } from '../certs/plan';
import type { KeyPair } from '../pki/issue';
import { forTenant, pickTenant, tenantSecrets } from '../tenants';
import { asksForHelp } from './arguments';
import { days, parseCertsArguments, USAGE } from './certs-arguments';

interface Tenant {
  readonly chart: IConstruct;
  readonly root: string;
}

/** The tenants a composition returned, each with its secrets/ folder; none for an app without tenants. */
function tenantRoots(composed: unknown, secretsRoot: string): Map<string, Tenant> {
  const tenants = new Map<string, Tenant>();
  if (!(composed instanceof Map)) return tenants;
  for (const [name, chart] of composed as Map<string | undefined, IConstruct>) {
    if (name !== undefined) tenants.set(name, { chart, root: tenantSecrets(secretsRoot, name) });
  }
  return tenants;
}

/** `check`'s report: a line per certificate, the notes, then a line per problem; true when all is well. */
async function printCheck(ctx: CertsContext, minDays: number | undefined, log: Output['log'], prefix = ''): Promise<boolean> {
  const result = await check(ctx, minDays);
  for (const r of result.reports) {
    const end = Number.isNaN(r.daysLeft) ? 'unreadable' : `${r.notAfter.toISOString()} (${r.daysLeft} days)`;
    log(
      `${r.problems.length ? 'FAIL' : 'OK  '} ${prefix}${r.label}: ${r.subject}; issuer ${r.issuer}; not after ${end}${r.sans.length ? `; SANs ${r.sans.join(', ')}` : ''}`,
    );
  }
  for (const note of result.notes) log(`${prefix}${note}`);
  for (const r of result.reports) for (const p of r.problems) log(`${prefix}${r.label}: ${p}`);
  return result.ok;
}

/** `log`, with each line's fixes as the tenant's commands (forTenant). */
const tenantLogger =
  (log: Output['log'], tenant: string | undefined): Output['log'] =>
  (...lines) =>
    log(...lines.map((l) => forTenant(l, tenant)));

/**
 * `check` over every tenant, each in its own folder, then their isolation from one another. A tenant whose
 * certificates cannot be read fails with its reason; the others are still checked.
 */
async function checkTenants(tenants: ReadonlyMap<string, Tenant>, minDays: number | undefined, log: Output['log']): Promise<number> {
  let ok = true;
  for (const [name, t] of tenants) {
    const tenantLog = tenantLogger(log, name);
    const ctx: CertsContext = {
      root: t.root,
      plan: certsPlan(t.chart),
      now: new Date(),
      log: (l) => tenantLog(`[${name}] ${l}`),
      tenant: name,
    };
    try {
      ok = (await printCheck(ctx, minDays, tenantLog, `[${name}] `)) && ok;
    } catch (err) {
      tenantLog(`FAIL [${name}] ${(err as Error).message}`);
      ok = false;
    }
  }
  const problems = crossTenantProblems(new Map([...tenants].map(([name, t]) => [name, t.root])));
  for (const p of problems) log(p);
  return ok && problems.length === 0 ? 0 : 1;
}

export interface Output {
  /** Prints each argument as a line of its own. */
  readonly log: (...lines: string[]) => void;
  readonly error: (line: string) => void;
}

/** The terminal: one line per argument, so that printed commands can be pasted one by one. */
export const consoleOutput: Output = {
  log: (...lines) => {
    for (const line of lines) console.log(line);
  },
  error: (line) => console.error(line),
};

/**
 * Re-synthesizes what embeds the certificates' checksum (dist/), reading the given secrets/ folder;
 * returns the folders written, none for a folder the outputs are not made from.
 */
export type Resynthesize = (secretsRoot: string) => string[];

/**
 * Composes the app the certificates serve: BuildkitChart, or a consumer's own charts. With tenants it returns
 * each tenant's chart by name (serviceCharts): each has its own secrets/ folder and CA, chosen with --tenant.
 */
export type ComposeApp = (app: App) => unknown;

/** Commands after which dist/ must follow the changed daemon Secrets. */
const CHANGES_DIST = new Set(['init', 'rotate', 'sync', 'revoke', 'recipients']);

/**
 * `npm run certs -- ...`: parses, calls lib/certs on the app `compose` builds, prints; returns the exit code
 * (0 ok, 1 a check or the command failed, 2 usage). With `resynth`, the commands that change a daemon
 * Secret re-synthesize dist/ in the same step. `newKeyPair` makes each new key (default: a fresh RSA key).
 */
export async function runCerts(
  argv: string[],
  compose: ComposeApp,
  io: Output = consoleOutput,
  resynth?: Resynthesize,
  newKeyPair?: () => KeyPair,
): Promise<number> {
  const { code, command, secretsRoot } = await runCommand(argv, compose, io, newKeyPair);
  if (code !== 0 || !resynth || !command || !CHANGES_DIST.has(command)) return code;
  try {
    const written = resynth(secretsRoot!).map((p) => (p.includes('.') && !p.includes('/') ? p : `${p}/`));
    io.log(
      written.length > 0
        ? `synthesized ${written.join(', ')}: commit them with secrets/`
        : `left dist/ as it is: it is made from the repository's own secrets/, not ${secretsRoot}`,
    );
    return 0;
  } catch (err) {
    io.error(`certs: ${command} is done, but the synth that follows it failed: ${(err as Error).message}`);
    return 1;
  }
}

/** The command's exit code, and what the parse found (the command, the secrets/ folder) for the synth after it. */
async function runCommand(
  argv: string[],
  compose: ComposeApp,
  io: Output,
  newKeyPair: (() => KeyPair) | undefined,
): Promise<{ code: number; command?: string; secretsRoot?: string }> {
  const { log } = io;
  let command: string | undefined;
  let secretsRoot: string | undefined;
  let tenant: string | undefined;
  const exit = (code: number) => ({ code, command, secretsRoot });
  try {
    if (asksForHelp(argv) || argv[0] === 'help') {
      log(USAGE);
      return exit(0);
    }
    const { command: given, words, values: o } = parseCertsArguments(argv);
    const [name, ...extra] = words;
    command = given;
    secretsRoot = resolve(o.secrets);
    const need = (what: string) => {
      if (!name) throw new CertsUsageError(`${command} needs ${what}`);
      return name;
    };
    // The app decides what the certificates must cover and which Secrets the daemons mount.
    const app = new App();
    const tenants = tenantRoots(compose(app), secretsRoot);
    if (command === 'check' && tenants.size > 0 && o.tenant === undefined)
      return exit(await checkTenants(tenants, days(o['min-days'], 'min-days'), log));
    // The whole app and secrets/, or the tenant --tenant names and its folder.
    const services = tenants.size > 0 ? tenants : new Map([[undefined, { chart: app, root: secretsRoot }]]);
    const served = pickTenant<Tenant>(services, o.tenant, (message) => new CertsUsageError(message));
    tenant = o.tenant;
    const tenantLog = tenantLogger(log, tenant);
    const ctx: CertsContext = {
      root: served.root,
      plan: certsPlan(served.chart),
      now: new Date(),
      log: tenantLog,
      newKeyPair,
      ...(tenant ? { tenant } : {}),
    };
    switch (command) {
      case 'init':
        if (o['client-namespace'])
          throw new CertsUsageError('--client-namespace is a setting now: set clientNamespace in config.ts, then run init or sync');
        await init(ctx, {
          extraRecipients: o.recipient,
          caDays: days(o['ca-days'], 'ca-days'),
          serverDays: days(o['server-days'], 'server-days'),
          clientDays: days(o['client-days'], 'client-days'),
        });
        return exit(0);
      case 'issue-client':
        await issueClient(ctx, need('a client NAME'), { renew: o.renew, days: days(o.days, 'days'), namespace: o.namespace });
        return exit(0);
      case 'rotate':
        await rotate(ctx, { ca: o.ca, finishCa: o['finish-ca'], force: o.force, serverDays: days(o['server-days'], 'server-days') });
        return exit(0);
      case 'revoke':
        await revoke(ctx, need('a client NAME'));
        return exit(0);
      case 'sync':
        await sync(ctx, { serverDays: days(o['server-days'], 'server-days') });
        return exit(0);
      case 'recipients': {
        if (name !== 'add' && name !== 'remove') throw new CertsUsageError('recipients takes add or remove, then an age1... public key');
        if (!extra[0]) throw new CertsUsageError(`recipients ${name} needs an age1... public key`);
        await changeRecipients(ctx, name, extra[0]);
        return exit(0);
      }
      case 'export': {
        if (!o.out) throw new CertsUsageError('export needs --out DIR');
        const result = await exportClient(ctx, need('a client NAME'), o.out, { force: o.force });
        log('', ...result.commands);
        return exit(0);
      }
      case 'check':
        return exit((await printCheck(ctx, days(o['min-days'], 'min-days'), tenantLog)) ? 0 : 1);
      case 'migrate':
        log(
          `moved ${migrateToTenant(secretsRoot, served.root).join(', ')}`,
          `next: \`npm run certs -- sync --tenant ${o.tenant}\` moves its Secrets to the tenant's namespace and re-issues what its names changed`,
        );
        return exit(0);
      default:
        throw new CertsUsageError(command ? `unknown command ${command}` : 'no command');
    }
  } catch (err) {
    const usage = err instanceof CertsUsageError;
    io.error(`certs: ${forTenant((err as Error).message, tenant)}`);
    if (usage) io.error(USAGE);
    return exit(usage ? 2 : 1);
  }
}
