import { Construct } from 'constructs';
import { KubeConfigMap } from '../imports/k8s';
import { MANAGED_BY } from './labels';
import { monitoringQueries, type Scope } from './monitoring-queries';
import { checkKnownKeys } from './props-shape';
import { checkLabelName, checkLabelValue } from './validation';

export interface BuildkitDashboardProps extends Scope {
  /**
   * The label the Grafana sidecar looks for.
   * @default 'grafana_dashboard'
   */
  readonly labelName?: string;
  /**
   * Its value.
   * @default '1'
   */
  readonly labelValue?: string;
  /**
   * Its title in Grafana, which must differ between dashboards of one folder (tenants get their name in it).
   * @default 'BuildKit'
   */
  readonly title?: string;
}

/** The dashboard's schema version: what Grafana's own types (@grafana/schema) check it against in a test. */
export const DASHBOARD_SCHEMA_VERSION = 39;

interface PanelSpec {
  title: string;
  unit: string;
  targets: Array<[string, string]>;
  type?: 'timeseries' | 'stat';
}

/** The builder's Grafana dashboard, as the JSON Grafana imports (schema version 39). */
export function buildkitDashboard(scope: Scope, title = 'BuildKit') {
  const q = monitoringQueries(scope);
  const panels: PanelSpec[] = [
    { title: 'Daemons up', unit: 'none', type: 'stat', targets: [[q.daemonsUp, 'up']] },
    { title: 'Build failure ratio (15m)', unit: 'percentunit', type: 'stat', targets: [[q.failureRatio, 'failed']] },
    { title: 'Step cache-hit ratio (1h)', unit: 'percentunit', type: 'stat', targets: [[q.cacheHitRatio, 'cached / total']] },
    { title: 'Builds per minute by status', unit: 'none', targets: [[q.buildsPerMinute, '{{status}}']] },
    { title: 'Mean build duration (15m)', unit: 's', targets: [[q.meanBuildSeconds, 'mean']] },
    { title: 'gRPC calls per second', unit: 'reqps', targets: [[q.grpcCallsPerSecond, '{{rpc_method}}']] },
    { title: 'gRPC mean latency', unit: 's', targets: [[q.grpcMeanSeconds, '{{rpc_method}}']] },
    {
      title: 'Memory against its limit, per pod',
      unit: 'bytes',
      targets: [
        [q.memoryBytes, '{{pod}}'],
        [q.memoryLimitBytes, '{{pod}} limit'],
      ],
    },
    {
      title: 'CPU against its request, per pod',
      unit: 'none',
      targets: [
        [q.cpuCores, '{{pod}}'],
        [q.cpuRequestCores, '{{pod}} request'],
      ],
    },
    {
      title: 'Restarts (1h) and OOM kills, per pod',
      unit: 'none',
      targets: [
        [q.restartsPerHour, '{{pod}} restarts'],
        [q.oomKilled, '{{pod}} OOMKilled'],
      ],
    },
  ];
  // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, meant literally
  const datasource = { type: 'prometheus', uid: '${datasource}' };
  return {
    title,
    uid: `buildkit-${scope.namespace}`.slice(0, 40),
    tags: ['buildkit'],
    schemaVersion: DASHBOARD_SCHEMA_VERSION,
    editable: true,
    time: { from: 'now-6h', to: 'now' },
    refresh: '30s',
    templating: { list: [{ name: 'datasource', type: 'datasource' as const, query: 'prometheus', label: 'Prometheus' }] },
    panels: panels.map((p, i) => ({
      id: i + 1,
      type: p.type ?? 'timeseries',
      title: p.title,
      datasource,
      gridPos:
        p.type === 'stat' ? { x: i * 8, y: 0, w: 8, h: 4 } : { x: ((i - 3) % 2) * 12, y: 4 + Math.floor((i - 3) / 2) * 8, w: 12, h: 8 },
      fieldConfig: { defaults: { unit: p.unit }, overrides: [] },
      options: {},
      targets: p.targets.map(([expr, legendFormat], j) => ({ refId: String.fromCharCode(65 + j), datasource, expr, legendFormat })),
    })),
  };
}

/** The dashboard in a ConfigMap labelled for the Grafana sidecar, which loads it. */
export class BuildkitDashboard extends Construct {
  public readonly configMap: KubeConfigMap;

  constructor(scope: Construct, id: string, props: BuildkitDashboardProps) {
    super(scope, id);
    checkKnownKeys('BuildkitDashboard', props, {
      labelName: 'string',
      labelValue: 'string',
      namespace: 'string',
      jobs: 'strings',
      container: 'string',
      title: 'string',
    });
    if (props.title !== undefined && !/^\S.{0,99}$/.test(props.title)) {
      throw new Error(
        `BuildkitDashboard: invalid title ${JSON.stringify(props.title)}: use one line of at most 100 characters, such as BuildKit`,
      );
    }
    const labelName = checkLabelName('BuildkitDashboard', 'labelName', props.labelName ?? 'grafana_dashboard', 'grafana_dashboard');
    // The managed-by label is ours: a dashboard label of that name would overwrite it.
    if (labelName === Object.keys(MANAGED_BY)[0]) {
      throw new Error(
        `BuildkitDashboard: invalid labelName ${JSON.stringify(labelName)}: this project sets that label itself; use the sidecar's label, such as grafana_dashboard`,
      );
    }
    const labelValue = checkLabelValue('BuildkitDashboard', 'labelValue', props.labelValue ?? '1', '"1" (in quotes)');
    this.configMap = new KubeConfigMap(this, 'Resource', {
      metadata: { name: 'buildkit-dashboard', labels: { ...MANAGED_BY, [labelName]: labelValue } },
      data: { 'buildkit.json': `${JSON.stringify(buildkitDashboard(props, props.title), null, 2)}\n` },
    });
  }
}
