/**
 * Where the chart's settings go, construct by construct: the prefix of its props among the settings, and those
 * named otherwise. Constructs whose props are settings of the same name (the daemon's, the Service's) need none.
 */
const SETTINGS_OF: Readonly<Record<string, { readonly prefix?: string; readonly renamed?: Readonly<Record<string, string>> }>> = {
  CacheVolume: { prefix: 'cache.' },
  RegistryCache: { prefix: 'registryCache.' },
  BuildkitEgressPolicy: { prefix: 'egress.' },
  BuildkitNetworkPolicy: { prefix: 'networkPolicy.', renamed: { monitoringNamespace: 'metrics.monitoringNamespace' } },
  BuildkitMetrics: { prefix: 'metrics.' },
  BuildkitDashboard: { prefix: 'metrics.dashboard.' },
  BuildkitAlerts: { prefix: 'metrics.alerts.', renamed: { prometheusLabels: 'metrics.prometheusLabels' } },
  TlsBundle: { renamed: { secretName: 'certSecretName', revision: 'certRevision' } },
  BuildkitDaemon: { renamed: { seccompLocalhostProfile: 'seccompProfile.localhostProfile' } },
};

/**
 * A construct's refusal named as the chart's settings name it, for those who write config.ts rather than the
 * construct: `CacheVolume: invalid size "1Gi": ...` becomes `BuildkitChart: invalid cache.size "1Gi": ...`.
 * Every refusal begins `<Construct>: invalid <prop>` (validation.ts); anything else is returned as it is.
 */
export function namedBySetting(error: unknown): unknown {
  const found = error instanceof Error ? /^(\w+): invalid ([A-Za-z]+)/.exec(error.message) : null;
  const settings = found && Object.hasOwn(SETTINGS_OF, found[1]) ? SETTINGS_OF[found[1]] : undefined;
  if (!found || !settings) return error;
  const settingOf = (prop: string) =>
    settings.renamed && Object.hasOwn(settings.renamed, prop) ? settings.renamed[prop] : settings.prefix && `${settings.prefix}${prop}`;
  const [head, , prop] = found;
  const path = settingOf(prop);
  if (path === undefined) return error;
  // A fix that sets a sibling (`set persistent: true`) names it by its setting too.
  const fix = (error as Error).message
    .slice(head.length)
    .replace(/\bset (\w+): /g, (_, sibling) => `set ${settingOf(sibling) ?? sibling}: `);
  return new Error(`BuildkitChart: invalid ${path}${fix}`);
}
