import { join } from 'node:path';
import type { App } from 'cdk8s';
import { BuildkitChart, type BuildkitChartProps } from './buildkit-chart';
import { CHART_PROPS_SHAPE } from './buildkit-chart-props';
import { checkKnownKeys, type PropsShape } from './props-shape';
import { namedBySetting } from './setting-paths';
import { checkDnsLabel, fail } from './validation';

/** A team that must not share a daemon with the others: its own daemons, CA, addresses, cache and policies. */
export interface TenantSettings
  extends Pick<
    BuildkitChartProps,
    | 'namespace'
    | 'clientNamespace'
    | 'loadBalancerIP'
    | 'perReplicaIPs'
    | 'workload'
    | 'replicas'
    | 'cache'
    | 'resources'
    | 'nativeBuilders'
    | 'networkPolicy'
    | 'egress'
    | 'architecture'
    | 'scheduling'
  > {
  /** Its name, a DNS label: names its namespace, its files in dist/ and secrets/, its delivery objects. */
  readonly name: string;
}

/** config.ts's `config`: the service, or with `tenants`, the defaults every tenant inherits. */
export interface ServiceSettings extends BuildkitChartProps {
  /**
   * One daemon group per team that must not share: each inherits every other setting here and overrides
   * what it gives. Each gets its own namespace (`buildkit-<name>` unless set), CA and certificates
   * (`secrets/tenants/<name>/`, commands with `--tenant NAME`), manifests (`dist/<name>/`) and delivery.
   * @default - no tenants: one service, as the other settings describe it
   */
  readonly tenants?: readonly TenantSettings[];
}

/** The id of the only chart when there are no tenants: dist/buildkit.k8s.yaml, as before tenants existed. */
export const SINGLE_CHART = 'buildkit';

/**
 * Where a service's certificates live: a tenant's in a secrets/ folder of its own, with its own CA and age key;
 * without tenants (`tenant` undefined), secrets/ itself.
 */
export const tenantSecrets = (secrets: string, tenant: string | undefined) => (tenant ? join(tenantsFolder(secrets), tenant) : secrets);
/** secrets/tenants: the folder that holds a secrets/ folder per tenant. */
export const tenantsFolder = (secrets: string) => join(secrets, 'tenants');

/** A tenant's namespace without `namespace` set: `buildkit-<name>`. */
const NAMESPACE_PREFIX = 'buildkit-';
const DELIVERY_SUFFIX = '-delivery';
/** The ServiceAccount Flux impersonates to deliver a tenant: `<name>-delivery`. */
export const tenantDeliveryIdentity = (tenant: string) => `${tenant}${DELIVERY_SUFFIX}`;
/** The longest tenant name: `buildkit-<name>` and `<name>-delivery` are DNS labels, at most 63 characters. */
const MAX_TENANT_NAME = 63 - Math.max(NAMESPACE_PREFIX.length, DELIVERY_SUFFIX.length);

/**
 * Names whose delivery objects (Flux Kustomizations `<name>` and `<name>-secrets` in flux-system, Argo CD's
 * AppProject and Application `<name>`) are objects this repository does not own: applying them would replace those.
 */
const NAMES_TAKEN_OUTSIDE: Readonly<Record<string, string>> = {
  'flux-system': "Flux's own Kustomization flux-system/flux-system, which flux bootstrap makes and every other sync hangs from",
  default: "Argo CD's built-in AppProject default, which the cluster's other Applications may use",
  buildkitd: 'the Kustomizations of the service before tenants, which moving to tenants deletes with all they applied',
  'buildkitd-secrets': 'the Kustomization of the service before tenants, which moving to tenants deletes with all it applied',
};

/** The tenants' names, checked: DNS labels, each once, none naming objects outside this repository. */
export function tenantNames(settings: ServiceSettings): string[] {
  if (settings.tenants !== undefined && !Array.isArray(settings.tenants))
    throw new Error(`tenants: invalid tenants ${JSON.stringify(settings.tenants)}: use a list, such as [{ name: 'team-a', ... }]`);
  const names = (settings.tenants ?? []).map((t, i) => {
    if (t === null || typeof t !== 'object')
      throw new Error(`tenants: invalid tenants[${i}] ${JSON.stringify(t)}: use { name: 'team-a', ... }`);
    if (t.name === undefined) fail('tenants', `tenants[${i}].name`, t.name, "name every tenant, such as 'team-a'");
    const name = checkDnsLabel('tenants', `tenants[${i}].name`, t.name);
    const taken = Object.hasOwn(NAMES_TAKEN_OUTSIDE, name) ? NAMES_TAKEN_OUTSIDE[name] : undefined;
    if (taken) fail('tenants', `tenants[${i}].name`, name, `its delivery objects would replace ${taken}; name the tenant otherwise`);
    if (name.length > MAX_TENANT_NAME) {
      throw new Error(
        `tenants: invalid tenants[${i}].name "${name}": it names the DNS labels ${NAMESPACE_PREFIX}<name> and <name>${DELIVERY_SUFFIX}, so at most ${MAX_TENANT_NAME} characters; shorten it`,
      );
    }
    return name;
  });
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice) throw new Error(`tenants: invalid tenants: "${twice}" is named twice; give every tenant its own name`);
  if (settings.tenants && names.length === 0)
    throw new Error('tenants: invalid tenants []: name at least one tenant, or leave tenants out');
  return names;
}

/** The chart settings of one tenant: the top level's, then its own; its namespace by its name. */
export function tenantSettings(settings: ServiceSettings, tenant: TenantSettings): BuildkitChartProps {
  const { tenants: _tenants, ...defaults } = settings;
  const { name, ...own } = tenant;
  const shared = Object.keys(own).find((key) => Object.hasOwn(CHART_PROPS_SHAPE, key) && !Object.hasOwn(TENANT_SHAPE, key));
  if (shared) {
    throw new Error(
      `tenant ${name}: "${shared}" is one setting for every tenant: set it at the top level of config, beside tenants; a tenant sets only ${TENANT_KEYS.join(', ')}`,
    );
  }
  checkKnownKeys(`tenant ${name}`, own, TENANT_SHAPE);
  // Grafana refuses two dashboards of one title in a folder: each tenant's carries its name.
  const dashboard = defaults.metrics?.dashboard;
  const metrics = dashboard && { ...defaults.metrics, dashboard: { ...dashboard, title: `${dashboard.title ?? 'BuildKit'} (${name})` } };
  // The DNS pods and the public ranges describe the cluster, not the tenant: a tenant's own egress keeps them.
  const egress = own.egress && { dns: defaults.egress?.dns, clusterCidrs: defaults.egress?.clusterCidrs, ...own.egress };
  return {
    ...defaults,
    ...(metrics ? { metrics } : {}),
    ...own,
    ...(egress ? { egress } : {}),
    namespace: own.namespace ?? `${NAMESPACE_PREFIX}${name}`,
  };
}

/**
 * The service's charts in `app`, keyed by tenant: one chart `buildkit` without tenants, otherwise one per
 * tenant, named after it. Two tenants on one address or in one namespace are refused here; two objects of one
 * name, by the synth.
 */
export function serviceCharts(
  app: App,
  settings: ServiceSettings,
  certRevisions: ReadonlyMap<string | undefined, string | undefined> = new Map(),
): Map<string | undefined, BuildkitChart> {
  const names = tenantNames(settings);
  if (names.length === 0) {
    const { tenants: _tenants, ...single } = settings;
    const certRevision = certRevisions.get(undefined);
    return new Map([
      [undefined, fromConfig(undefined, () => new BuildkitChart(app, SINGLE_CHART, certRevision ? { ...single, certRevision } : single))],
    ]);
  }
  // Every tenant's namespace is its own (buildkit-<name> by default): a top-level one would be no tenant's.
  if (settings.namespace !== undefined) {
    throw new Error(
      `tenants: invalid namespace "${settings.namespace}" at the top level: each tenant has a namespace of its own (buildkit-<name> unless the tenant sets namespace); set it on the tenants, or leave it out`,
    );
  }
  const charts = new Map<string | undefined, BuildkitChart>();
  const addresses = new Map<string, Claim>();
  const namespaces = new Map<string, Claim>();
  for (const tenant of settings.tenants!) {
    const certRevision = certRevisions.get(tenant.name);
    const props = { ...tenantSettings(settings, tenant), ...(certRevision ? { certRevision } : {}) };
    const chart = fromConfig(tenant.name, () => new BuildkitChart(app, tenant.name, props));
    for (const ip of chart.endpoint.ips)
      claim(addresses, ip, { tenant: tenant.name, setting: 'address' }, 'give every tenant its own address');
    // Its delivery writes Secrets in these namespaces, and its client Secret is read there: no other tenant's may.
    claim(namespaces, chart.namespace!, { tenant: tenant.name, setting: 'namespace' }, 'give every tenant its own namespace');
    claim(
      namespaces,
      chart.clientNamespace,
      { tenant: tenant.name, setting: 'clientNamespace' },
      "give every tenant its own clientNamespace (a top-level one is every tenant's), or leave it out for the tenant's namespace",
    );
    charts.set(tenant.name, chart);
  }
  return charts;
}

/**
 * The service `--tenant` picks, as every command takes it: without tenants (the key undefined) the one service,
 * and `--tenant` is refused; with tenants, the one it names.
 */
export function pickTenant<T>(
  services: ReadonlyMap<string | undefined, T>,
  tenant: string | undefined,
  usage = (message: string) => new Error(message),
): T {
  const names = [...services.keys()].join(', ');
  if (services.has(undefined)) {
    if (tenant !== undefined) throw usage(`--tenant ${tenant}: config.ts has no tenants; leave --tenant out`);
    return services.get(undefined) as T;
  }
  if (tenant === undefined) throw usage(`config.ts has tenants: name one with --tenant (${names})`);
  if (!services.has(tenant)) throw usage(`--tenant ${tenant}: no such tenant in config.ts (${names})`);
  return services.get(tenant) as T;
}

/** A certs command as it must be typed for the service: a tenant's with `--tenant NAME` at its end. */
export const certsCommand = (args: string, tenant: string | undefined) => `npm run certs -- ${args}${tenant ? ` --tenant ${tenant}` : ''}`;

/** A line's `npm run certs -- ...` fixes, as a tenant's commands must be typed: with `--tenant NAME`. */
export function forTenant(line: string, tenant: string | undefined): string {
  return line.replace(/`npm run certs -- ([^`]*)`/g, (_command, args: string) => `\`${certsCommand(args, tenant)}\``);
}

/** Which tenant holds an address or a namespace, and as what. */
interface Claim {
  readonly tenant: string;
  readonly setting: 'address' | 'namespace' | 'clientNamespace';
}

/** Gives an address or a namespace to one tenant: a second tenant's claim is refused, naming both. */
function claim(owners: Map<string, Claim>, value: string, mine: Claim, fix: string): void {
  const other = owners.get(value);
  if (other && other.tenant !== mine.tenant) {
    throw new Error(
      `tenants: invalid ${mine.setting} "${value}" of tenant ${mine.tenant}: it is tenant ${other.tenant}'s ${other.setting} too; ${fix}`,
    );
  }
  owners.set(value, other ?? mine);
}

/**
 * Builds a chart from config.ts's settings: a refusal names the setting as config.ts does (cache.size), and the
 * tenant, which may have the setting from the top level.
 */
function fromConfig(tenant: string | undefined, build: () => BuildkitChart): BuildkitChart {
  try {
    return build();
  } catch (e) {
    const named = namedBySetting(e) as Error;
    throw tenant ? new Error(`tenant ${tenant}: ${named.message}`) : named;
  }
}

const TENANT_KEYS = [
  'namespace',
  'clientNamespace',
  'loadBalancerIP',
  'perReplicaIPs',
  'workload',
  'replicas',
  'cache',
  'resources',
  'nativeBuilders',
  'networkPolicy',
  'egress',
  'architecture',
  'scheduling',
] as const satisfies ReadonlyArray<keyof TenantSettings>;
/** What a tenant may set: the chart's own shapes for those keys, so a tenant's value is checked like the top level's. */
const TENANT_SHAPE = Object.fromEntries(TENANT_KEYS.map((k) => [k, CHART_PROPS_SHAPE[k]])) as PropsShape<Omit<TenantSettings, 'name'>>;
