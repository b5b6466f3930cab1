import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { IntOrString, KubeService } from '../imports/k8s';
import type { BuildkitDaemon } from './buildkit-daemon';
import { MANAGED_BY } from './labels';
import { checkKnownKeys } from './props-shape';
import { fail, withExtraLabels } from './validation';

export interface BuildkitMetricsProps {
  /** The daemon to scrape; it must serve metrics (BuildkitDaemonProps.metricsPort). */
  readonly daemon: BuildkitDaemon;

  /**
   * Add a Prometheus Operator ServiceMonitor. Off by default: clusters without its CRD reject the object,
   * and with it the whole of dist/.
   * @default false
   */
  readonly serviceMonitor?: boolean;

  /**
   * Put `prometheus.io/scrape` annotations on the metrics Service, for Prometheus set up to discover them.
   * @default true
   */
  readonly scrapeAnnotations?: boolean;

  /**
   * Labels on the ServiceMonitor besides its own, for a Prometheus that selects by label (kube-prometheus-stack:
   * `release: <its Helm release>`).
   * @default - none
   */
  readonly prometheusLabels?: Readonly<Record<string, string>>;

  /**
   * Scrape interval of the ServiceMonitor.
   * @default '30s'
   */
  readonly interval?: string;
}

/**
 * The daemon's Prometheus endpoint (`--debugaddr`), on a ClusterIP Service of its own. The debug address
 * also serves pprof without authentication, so it never shares the LoadBalancer with the build port.
 */
export class BuildkitMetrics extends Construct {
  public readonly service: KubeService;
  /** The daemon it scrapes. */
  public readonly daemon: BuildkitDaemon;

  constructor(scope: Construct, id: string, props: BuildkitMetricsProps) {
    super(scope, id);
    checkKnownKeys('BuildkitMetrics', props, {
      daemon: 'object',
      serviceMonitor: 'boolean',
      scrapeAnnotations: 'boolean',
      prometheusLabels: 'record',
      interval: 'string',
    });
    const { daemon } = props;
    this.daemon = daemon;
    for (const prop of ['prometheusLabels', 'interval'] as const) {
      if (!props.serviceMonitor && props[prop] !== undefined) {
        fail(
          'BuildkitMetrics',
          prop,
          props[prop],
          'it applies to the ServiceMonitor, and serviceMonitor is off; set serviceMonitor: true, or leave it out',
        );
      }
    }
    if (daemon.metricsPort === undefined) {
      throw new Error("BuildkitMetrics: invalid daemon: it serves no metrics; set the daemon's metricsPort (such as 6060)");
    }
    if (props.interval !== undefined && !/^(\d+(ms|s|m|h))+$/.test(props.interval)) {
      throw new Error(`BuildkitMetrics: invalid interval ${JSON.stringify(props.interval)}: use a Prometheus duration such as 30s`);
    }
    const labels = { ...daemon.selectorLabels, 'app.kubernetes.io/component': 'metrics', ...MANAGED_BY };
    const annotations =
      (props.scrapeAnnotations ?? true)
        ? { 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(daemon.metricsPort), 'prometheus.io/path': '/metrics' }
        : undefined;
    this.service = new KubeService(this, 'Resource', {
      metadata: { name: `${daemon.name}-metrics`, labels, annotations },
      spec: {
        type: 'ClusterIP',
        selector: daemon.selectorLabels,
        ports: [{ name: 'metrics', port: daemon.metricsPort, targetPort: IntOrString.fromString('metrics'), protocol: 'TCP' }],
      },
    });
    if (props.serviceMonitor) {
      // A CRD: no generated type, and none of its fields need one.
      new ApiObject(this, 'ServiceMonitor', {
        apiVersion: 'monitoring.coreos.com/v1',
        kind: 'ServiceMonitor',
        metadata: {
          name: daemon.name,
          labels: withExtraLabels('BuildkitMetrics', 'prometheusLabels', props.prometheusLabels ?? {}, labels),
        },
        spec: {
          selector: { matchLabels: { 'app.kubernetes.io/instance': daemon.name, 'app.kubernetes.io/component': 'metrics' } },
          endpoints: [{ port: 'metrics', path: '/metrics', interval: props.interval ?? '30s' }],
        },
      });
    }
  }
}
