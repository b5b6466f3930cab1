import { Chart, JsonPatch } from 'cdk8s';
import type { Construct } from 'constructs';
import { KubeNamespace } from '../imports/k8s';
import { checkIPv4 } from './addresses';
import { BuildkitAlerts } from './buildkit-alerts';
import { type BuildkitChartProps, CHART_PROPS_SHAPE } from './buildkit-chart-props';
import type { NativeBuilder } from './buildkit-chart-settings';
import { BuildkitDaemon, type BuildkitDaemonProps, type PodSecurityLevel, type RegistrySettings } from './buildkit-daemon';
import { BuildkitDashboard } from './buildkit-dashboard';
import { addressedRegistries, BuildkitEgressPolicy, checkEgressDestinations } from './buildkit-egress-policy';
import { BuildkitMetrics } from './buildkit-metrics';
import { BuildkitNetworkPolicy } from './buildkit-network-policy';
import { BuildkitSeccompProfile } from './buildkit-seccomp-profile';
import { BuildkitService, type BuildkitServiceProps } from './buildkit-service';
import { CacheVolume, type CacheVolumeProps } from './cache-volume';
import { MANAGED_BY, NEVER_PRUNED } from './labels';
import { checkKnownKeys } from './props-shape';
import { RegistryCache, withCacheMirror } from './registry-cache';
import { type Endpoint, SEED } from './settings';
import { TlsBundle } from './tls-bundle';
import { checkArchitecture, checkDnsLabel, checkDnsSubdomain, checkOwnNamespace, checkPort, fail } from './validation';

export type { BuildkitChartProps } from './buildkit-chart-props';
export type * from './buildkit-chart-settings';

/** The whole service: namespace, certificates, cache, daemons and LoadBalancers, with the seed's defaults. */
export class BuildkitChart extends Chart {
  public readonly daemon: BuildkitDaemon;
  public readonly service: BuildkitService;
  /** Every name and address clients dial: what the server certificate must cover. */
  public readonly endpoint: Endpoint;
  /** Where the in-cluster client Secret goes. */
  public readonly clientNamespace: string;

  constructor(scope: Construct, id: string, props: BuildkitChartProps = {}) {
    checkKnownKeys('BuildkitChart', props, CHART_PROPS_SHAPE);
    const namespace = checkOwnNamespace('BuildkitChart', 'namespace', props.namespace ?? SEED.namespace);
    super(scope, id, { namespace });
    this.clientNamespace = checkDnsLabel('BuildkitChart', 'clientNamespace', props.clientNamespace ?? namespace);

    const level = props.podSecurity ?? 'privileged';
    this.addNamespace(namespace, level);
    if (level !== 'baseline' && (props.seccompProfile || props.appArmorProfile)) {
      throw new Error(
        `BuildkitChart: invalid ${props.seccompProfile ? 'seccompProfile' : 'appArmorProfile'}: it applies to podSecurity 'baseline' only; set podSecurity: 'baseline' or drop it`,
      );
    }
    const hardened = level === 'baseline' ? this.hardening(props) : {};

    const tls = new TlsBundle(this, 'Tls', { secretName: props.certSecretName, revision: props.certRevision });
    const workload = props.workload ?? 'deployment';
    const clusterDomain = checkDnsSubdomain('BuildkitChart', 'clusterDomain', props.clusterDomain ?? SEED.clusterDomain);
    const registryCache = props.registryCache
      ? new RegistryCache(this, 'RegistryCache', {
          scheduling: props.scheduling,
          ...props.registryCache,
          clientLabels: { 'app.kubernetes.io/name': 'buildkit' },
        })
      : undefined;
    const registries = withCacheMirror(
      props.registries ?? {},
      registryCache && `${registryCache.name}.${namespace}.svc.${clusterDomain}:${registryCache.port}`,
    );
    const daemonSettings = {
      image: props.image,
      imageIsRootless: props.imageIsRootless,
      port: props.port,
      resources: props.resources,
      tls,
      drainTimeoutSeconds: props.drainTimeoutSeconds,
      metricsPort: props.metrics ? checkPort('BuildkitChart', 'metrics.port', props.metrics.port ?? 6060) : undefined,
      legacyAppArmorAnnotation: props.legacyAppArmorAnnotation,
      maxParallelism: props.maxParallelism,
      history: props.history,
      seLinuxType: props.seLinuxType,
      podSecurity: props.podSecurity,
      ...hardened,
      registries,
      registryCaCertificates: props.registryCaCertificates,
      registryKeypairSecret: props.registryKeypairSecret,
      runtimeDefaultCapabilities: props.runtimeDefaultCapabilities,
      cacheGuard: props.cacheGuard,
      scheduling: props.scheduling,
    };
    const serviceSettings: Omit<BuildkitServiceProps, 'daemon'> = {
      clusterDomain,
      addressPool: props.addressPool,
      loadBalancer: props.loadBalancer,
      legacyMetallbAnnotations: props.legacyMetallbAnnotations,
      externalTrafficPolicy: props.externalTrafficPolicy,
      sessionAffinityTimeoutSeconds: props.sessionAffinityTimeoutSeconds,
    };
    const cacheSettings = { ...props.cache, perReplica: workload === 'statefulset' && (props.cache?.persistent ?? false) };

    this.daemon = new BuildkitDaemon(this, 'Daemon', {
      ...daemonSettings,
      name: props.name,
      replicas: props.replicas,
      workload,
      architecture: props.architecture,
      cache: new CacheVolume(this, 'Cache', cacheSettings),
    });
    this.service = new BuildkitService(this, 'Service', { ...serviceSettings, daemon: this.daemon, loadBalancerIP: props.loadBalancerIP });
    const services = [this.service, ...this.replicaServices(props.perReplicaIPs ?? [], serviceSettings)];
    const daemons = [this.daemon];

    for (const [i, builder] of (props.nativeBuilders ?? []).entries()) {
      const where = `nativeBuilders[${i}]`;
      const daemon = this.nativeBuilder(builder, where, daemons, { ...daemonSettings, workload }, cacheSettings, props.cache?.claimName);
      daemons.push(daemon);
      services.push(
        new BuildkitService(this, `Service-${daemon.architecture}`, { ...serviceSettings, daemon, loadBalancerIP: builder.loadBalancerIP }),
      );
    }
    this.addNetworkPolicies(props, daemons, registries, registryCache);
    this.addMonitoring(props, daemons, namespace);
    const ips = services.map((s) => s.loadBalancerIP);
    const duplicate = ips.find((ip, i) => ips.indexOf(ip) !== i);
    if (duplicate)
      throw new Error(`BuildkitChart: invalid LoadBalancer IPs: ${duplicate} is used twice; give every Service its own address`);
    this.endpoint = {
      names: services.map((s) => s.name),
      namespace,
      clusterDomain,
      ips,
      port: this.service.port,
      headlessServices: daemons.flatMap((d) => (d.headlessService ? [d.headlessService.name] : [])),
    };
  }

  /** The namespace, labelled with the Pod Security level its daemons meet. */
  private addNamespace(namespace: string, level: PodSecurityLevel): void {
    // Rootless BuildKit needs Unconfined seccomp and AppArmor unless hardened mode gives it a Localhost profile;
    // the namespace holds only the daemons, so "privileged" widens nothing else.
    const ns = new KubeNamespace(this, 'Namespace', {
      metadata: {
        name: namespace,
        annotations: { ...NEVER_PRUNED },
        labels: {
          ...MANAGED_BY,
          'pod-security.kubernetes.io/enforce': level,
          'pod-security.kubernetes.io/audit': level,
          'pod-security.kubernetes.io/warn': level,
        },
      },
    });
    // cdk8s gives every object the chart's namespace; a Namespace is cluster-scoped and must not carry one.
    ns.addJsonPatch(JsonPatch.remove('/metadata/namespace'));
  }

  /** A daemon of another architecture: the same certificates and settings, its own name and cache volume. */
  private nativeBuilder(
    builder: NativeBuilder,
    where: string,
    daemons: readonly BuildkitDaemon[],
    settings: BuildkitDaemonProps,
    cacheSettings: CacheVolumeProps,
    claimName?: string,
  ): BuildkitDaemon {
    const arch = checkArchitecture('BuildkitChart', `${where}.architecture`, builder.architecture);
    // Unpinned, the main daemon lands on this builder's nodes now and then, and what it was meant to build
    // natively runs under emulation there, or fails with "exec format error" where the nodes lack QEMU.
    if (this.daemon.architecture === undefined) {
      throw new Error(
        `BuildkitChart: invalid ${where} ${JSON.stringify(builder)}: the main daemon has no architecture, so it may run on ${arch} nodes; ` +
          `pin it with architecture, such as '${arch === 'amd64' ? 'arm64' : 'amd64'}'`,
      );
    }
    if (builder.loadBalancerIP === undefined) {
      throw new Error(
        `BuildkitChart: invalid ${where} ${JSON.stringify(builder)}: it has no loadBalancerIP; give each native builder an address of its own`,
      );
    }
    // Checked here, where the daemon's and the Service's refusals would not say which builder.
    checkIPv4('BuildkitChart', `${where}.loadBalancerIP`, builder.loadBalancerIP);
    const name = builder.name === undefined ? `${this.daemon.name}-${arch}` : checkDnsLabel('BuildkitChart', `${where}.name`, builder.name);
    // Two workloads of one name would be one object in the cluster, each apply overwriting the other.
    const clash = daemons.find((d) => d.name === name || d.architecture === arch);
    if (clash) {
      throw new Error(
        `BuildkitChart: invalid ${where} ${JSON.stringify(builder)}: ${clash.name === name ? `the name ${name}` : `architecture ${arch}`} ` +
          'is taken by another daemon; give each native builder its own name and architecture',
      );
    }
    // A claim name cannot be shared.
    const sharedClaim = cacheSettings.persistent && !cacheSettings.perReplica;
    const cache = new CacheVolume(this, `Cache-${arch}`, {
      ...cacheSettings,
      claimName: sharedClaim ? (claimName ? `${claimName}-${arch}` : `${name}-cache`) : undefined,
    });
    return new BuildkitDaemon(this, `Daemon-${arch}`, { ...settings, name, architecture: arch, cache });
  }

  /**
   * Per daemon: who reaches its build port (and metrics port), and what its build steps reach: DNS, the
   * registry cache, registries given by address, the destinations allowed, the internet.
   */
  private addNetworkPolicies(
    props: BuildkitChartProps,
    daemons: readonly BuildkitDaemon[],
    registries: Record<string, RegistrySettings>,
    registryCache?: RegistryCache,
  ): void {
    const { enabled: ingress = true, ...access } = props.networkPolicy ?? {};
    const { enabled: egress = true, allow = [], dns, clusterCidrs } = props.egress ?? {};
    const cache = registryCache ? [{ podLabels: registryCache.selectorLabels, port: registryCache.port }] : [];
    checkEgressDestinations(allow); // before the chart's own destinations join them, so a refusal counts only these
    const destinations = [...cache, ...addressedRegistries(registries), ...allow];
    // pprof shares the metrics port: whenever it is open, only the monitoring namespace reaches it.
    const monitoringNamespace = props.metrics?.monitoringNamespace;
    for (const daemon of daemons) {
      if (ingress) new BuildkitNetworkPolicy(this, `NetworkPolicy-${daemon.name}`, { ...access, monitoringNamespace, daemon });
      else if (props.metrics)
        new BuildkitNetworkPolicy(this, `NetworkPolicy-${daemon.name}`, { daemon, monitoringNamespace, openBuildPort: true });
      if (egress) new BuildkitEgressPolicy(this, `EgressPolicy-${daemon.name}`, { daemon, allow: destinations, dns, clusterCidrs });
    }

    const { allowedNamespaces: admitted, allowedCidrs } = access;
    // Jobs mount the in-cluster client Secret in clientNamespace; with namespaces alone admitted (no range, which
    // could hold pods), jobs there could not reach the daemon.
    if (ingress && admitted && !allowedCidrs?.length && !admitted.includes(this.clientNamespace)) {
      throw new Error(
        `BuildkitChart: invalid clientNamespace "${this.clientNamespace}": the in-cluster client Secret goes there, and networkPolicy.allowedNamespaces admits only ${admitted.join(', ') || 'none'}, so jobs there could not reach the daemon; set clientNamespace to one of them`,
      );
    }
  }

  /** Per daemon its metrics Service; over all of them the dashboard and the alerts. */
  private addMonitoring(props: BuildkitChartProps, daemons: readonly BuildkitDaemon[], namespace: string): void {
    const jobs: string[] = [];
    const { serviceMonitor, alerts, prometheusLabels } = props.metrics ?? {};
    if (prometheusLabels !== undefined && !serviceMonitor && !alerts) {
      fail(
        'BuildkitChart',
        'metrics.prometheusLabels',
        prometheusLabels,
        'it labels the ServiceMonitor and the PrometheusRule, and there is neither; set metrics.serviceMonitor: true or metrics.alerts, or leave it out',
      );
    }
    for (const daemon of daemons) {
      if (!props.metrics) continue;
      const metrics = new BuildkitMetrics(this, `Metrics-${daemon.name}`, {
        daemon,
        serviceMonitor,
        scrapeAnnotations: props.metrics.scrapeAnnotations,
        prometheusLabels: serviceMonitor ? prometheusLabels : undefined,
      });
      jobs.push(metrics.service.name);
    }
    // What to look at and what pages someone: over every daemon's scrape job.
    const monitored = { namespace, jobs, container: 'buildkitd' };
    if (props.metrics?.dashboard) new BuildkitDashboard(this, 'Dashboard', { ...monitored, ...props.metrics.dashboard });
    if (alerts) {
      new BuildkitAlerts(this, 'Alerts', {
        ...monitored,
        ...alerts,
        prometheusLabels,
        replicas: daemons.reduce((n, d) => n + d.replicas, 0),
      });
    }
  }

  /** Hardened mode: where the daemons find the seccomp profile, and the AppArmor profile if any. */
  private hardening(props: BuildkitChartProps): { seccompLocalhostProfile: string; appArmorProfile?: string } {
    const install = props.seccompProfile?.install ?? 'operator';
    if (install !== 'operator' && install !== 'node') {
      throw new Error(`BuildkitChart: invalid seccompProfile.install ${JSON.stringify(install)}: use 'operator' or 'node'`);
    }
    // The operator's profiles are cluster-wide: each service's is named after its namespace, which it owns alone.
    const installedAt =
      install === 'operator'
        ? new BuildkitSeccompProfile(this, 'SeccompProfile', { name: `${this.namespace}-rootless` }).localhostProfile
        : 'buildkit/buildkit-rootless.json';
    return { seccompLocalhostProfile: props.seccompProfile?.localhostProfile ?? installedAt, appArmorProfile: props.appArmorProfile };
  }

  private replicaServices(ips: readonly string[], settings: Omit<BuildkitServiceProps, 'daemon'>): BuildkitService[] {
    if (ips.length === 0) return [];
    if (this.daemon.workloadKind !== 'statefulset') {
      throw new Error("BuildkitChart: invalid perReplicaIPs: only StatefulSet pods have stable names to pin; set workload 'statefulset'");
    }
    if (ips.length !== this.daemon.replicas) {
      throw new Error(
        `BuildkitChart: invalid perReplicaIPs: ${ips.length} addresses for ${this.daemon.replicas} replicas; give exactly one IP per replica`,
      );
    }
    return ips.map(
      (ip, i) =>
        new BuildkitService(this, `Replica${i}`, {
          ...settings,
          daemon: this.daemon,
          name: `${this.daemon.name}-${i}`,
          podName: `${this.daemon.name}-${i}`,
          loadBalancerIP: checkIPv4('BuildkitChart', `perReplicaIPs[${i}]`, ip),
        }),
    );
  }
}
