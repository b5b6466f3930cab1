import { BuildkitChartProps } from './lib';

/**
 * The one place to change the service: the chart and the certificate commands both read it, so the server
 * certificate always covers the names and IP the Service answers on. Empty means the seed's defaults:
 * namespace `buildkit`, Deployment and Service `buildkitd`, LoadBalancer 192.168.80.110:1234.
 */
export const config: BuildkitChartProps = {};
