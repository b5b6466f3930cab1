import type { BuildkitChart } from '../buildkit-chart';
import { CONTAINER } from '../daemon/container';
import { SEED } from '../settings';
import { certsCommand } from '../tenants';

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
}

/** The seed's service: namespace `buildkit`, Deployment `buildkitd` on 192.168.80.110:1234. */
export const SEED_DOCTOR_SERVICE: DoctorService = {
  addr: `tcp://${SEED.loadBalancerIP}:${SEED.port}`,
  namespace: SEED.namespace,
  workload: `deployment/${SEED.name}`,
};

/** What the doctor knows of a chart's service: its first address, namespace and workload. */
export function doctorService(chart: BuildkitChart, tenant?: string): DoctorService {
  const { ips, port, namespace } = chart.endpoint;
  return {
    addr: `tcp://${ips[0]}:${port}`,
    namespace,
    workload: `${chart.daemon.workloadKind}/${chart.daemon.name}`,
    ...(tenant ? { tenant } : {}),
  };
}

/** What to run next after each failure, with the service's own namespace, workload and tenant in the commands. */
export function doctorHints(service: DoctorService) {
  const certs = (args: string) => certsCommand(args, service.tenant);
  const n = `-n ${service.namespace}`;
  const logs = `kubectl logs ${n} ${service.workload} -c ${CONTAINER}`;
  return {
    noBundle: `export one: ${certs('export NAME --out DIR')} (it writes ca.pem, cert.pem, key.pem)`,
    badClient: `issue a fresh one: ${certs('issue-client NAME --renew')}, then export it`,
    refused: `nothing listens there: kubectl get pods,endpoints ${n} (are the daemons ready?)`,
    unreachable: `no route or no answer: kubectl get svc ${n} (did MetalLB assign the IP?), and check the BGP routes on the edge router`,
    noTls: `is this a buildkitd with TLS? ${logs}`,
    expired: `${certs('rotate')}, npm run synth, commit: the pods roll onto the new certificate`,
    otherCa: `this bundle is from another CA: export a fresh one (${certs('export NAME --out DIR')}), and ${certs('check')}`,
    name: `dial a name or IP it covers (--servername), or add it in config.ts and run ${certs('rotate')}`,
    expiresSoon: `the server certificate expires within 30 days: renew it with ${certs('rotate')}, then commit`,
    grpc: `the daemon refused the call: is the client certificate from the CA it trusts? ${certs('check')}; ${logs}`,
    unhealthy: `the daemon is starting or unhealthy: kubectl get pods ${n}; ${logs}`,
    noWorker: `${logs} (rootless needs Unconfined seccomp and AppArmor)`,
  };
}
