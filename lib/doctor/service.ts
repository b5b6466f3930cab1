import { App } from 'cdk8s';
import type { BuildkitChart } from '../buildkit-chart';
import type { BuildkitDaemon } from '../buildkit-daemon';
import { BuildkitService } from '../buildkit-service';
import { constructsOf } from '../construct-tree';
import { CONTAINER } from '../daemon/container';
import { SEED } from '../settings';
import { certsCommand, type ServiceSettings, serviceCharts } from '../tenants';

/** The service the doctor dials, as config.ts sets it up: what to look at with kubectl, and how to type its certs commands. */
export interface DoctorService {
  /** tcp://HOST:PORT of its LoadBalancer, dialled without --addr. */
  readonly addr: string;
  /** The namespace of its daemons. */
  readonly namespace: string;
  /** Its daemons' workload as kubectl names it: `deployment/buildkitd`, `statefulset/builder`. */
  readonly workload: string;
  /** Its tenant, whose certs commands take `--tenant NAME`; none without tenants. */
  readonly tenant?: string;
  /**
   * The daemon behind each of its addresses as kubectl names it (a native builder's Deployment, a replica's
   * pod), for an `--addr` that dials one of them; `workload` for any other.
   */
  readonly daemonsByAddress?: Readonly<Record<string, string>>;
}

/** The seed's service: namespace `buildkit`, Deployment `buildkitd` on 192.168.80.110:1234. */
const SEED_ADDR = `tcp://${SEED.loadBalancerIP}:${SEED.port}`;
const SEED_WORKLOAD = `deployment/${SEED.name}`;
export const SEED_DOCTOR_SERVICE: DoctorService = {
  addr: SEED_ADDR,
  namespace: SEED.namespace,
  workload: SEED_WORKLOAD,
  daemonsByAddress: { [SEED_ADDR]: SEED_WORKLOAD },
};

/** What the doctor knows of a chart's service: its first address, namespace and workload, and the daemon behind each address. */
export function doctorService(chart: BuildkitChart, tenant?: string): DoctorService {
  const { ips, port, namespace } = chart.endpoint;
  const workloadOf = (d: BuildkitDaemon) => `${d.workloadKind}/${d.name}`;
  const daemonsByAddress = Object.fromEntries(
    constructsOf(chart, BuildkitService).map((s) => [
      `tcp://${s.loadBalancerIP}:${s.port}`,
      s.podName ? `pod/${s.podName}` : workloadOf(s.daemon),
    ]),
  );
  return {
    addr: `tcp://${ips[0]}:${port}`,
    namespace,
    workload: workloadOf(chart.daemon),
    ...(tenant ? { tenant } : {}),
    daemonsByAddress,
  };
}

/** What the doctor knows of each service config.ts sets up, by tenant (undefined without tenants). */
export function doctorServices(settings: ServiceSettings): Map<string | undefined, DoctorService> {
  return new Map([...serviceCharts(new App(), settings)].map(([tenant, chart]) => [tenant, doctorService(chart, tenant)]));
}

/** The service with the daemon behind the address dialled in its hints (the service's own workload for any other). */
export const dialling = (service: DoctorService, addr: string): DoctorService => ({
  ...service,
  workload: service.daemonsByAddress?.[addr] ?? service.workload,
});

/** What to run next after each failure, with the service's own namespace, workload and tenant in the commands. */
export function doctorHints(service: DoctorService) {
  const certs = (args: string) => certsCommand(args, service.tenant);
  const n = `-n ${service.namespace}`;
  const logs = `kubectl logs ${n} ${service.workload} -c ${CONTAINER}`;
  return {
    noBundle: `export one: ${certs('export NAME --out DIR')} (it writes ca.pem, cert.pem, key.pem)`,
    badClient: `issue a fresh one: ${certs('issue-client NAME --renew')}, then export it`,
    refused: `nothing listens there: kubectl get pods,endpoints ${n} (are the daemons ready?)`,
    noName: `the name does not resolve here: point its DNS record at the Service's EXTERNAL-IP (kubectl get svc ${n}), or dial that address with --addr and keep the name with --servername`,
    unreachable: `no route or no answer: kubectl get svc ${n} (its EXTERNAL-IP must be this address: did the load balancer assign it?), and check the L2 announcements or BGP routes on the edge router`,
    noTls: `is this a buildkitd with TLS? ${logs}`,
    expired: `${certs('rotate')} (it synthesizes again), then commit secrets/ and dist/: the pods roll onto the new certificate`,
    otherCa: `this bundle is from another CA: export a fresh one (${certs('export NAME --out DIR')}), and ${certs('check')}`,
    name: `dial a name or IP it covers (--servername), or add it in config.ts and run ${certs('sync')}, which re-issues the server certificate`,
    expiresSoon: `the server certificate expires within 30 days: renew it with ${certs('rotate')}, then commit`,
    grpc: `the daemon refused the call: is the client certificate from the CA it trusts? ${certs('check')}; ${logs}`,
    noAnswer: `the daemon took the call and did not answer in time: busy or stuck? kubectl top pods ${n}; ${logs}; or a longer --timeout`,
    unhealthy: `the daemon is starting or unhealthy: kubectl get pods ${n}; ${logs}`,
    noWorker: `${logs} (rootless needs user namespaces and mounts: seccomp and AppArmor Unconfined, or in hardened mode the Localhost profile installed on the node)`,
  };
}
