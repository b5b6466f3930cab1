import { execFileSync } from 'node:child_process';
import type { BuildkitChartProps } from '../lib/buildkit-chart-props';
import { find, synthChart } from './support/chart';
import { baselineViolations } from './support/pod-security';
import { namespacesMissingReason, testUnless } from './support/programs';

// The rootless daemon binds as UID 1000 without NET_BIND_SERVICE: a port under 1024 takes the pod's sysctl.
const template = (props: BuildkitChartProps, kind = 'Deployment', name = 'buildkitd') => find(synthChart(props), kind, name).spec.template;
const sysctls = (props: BuildkitChartProps, kind?: string, name?: string) => template(props, kind, name).spec.securityContext.sysctls;
const lowered = (port: number) => [{ name: 'net.ipv4.ip_unprivileged_port_start', value: String(port) }];

test('a port under 1024 lowers ip_unprivileged_port_start to the lowest port the daemon binds; 1024 and up leave it', () => {
  expect(sysctls({})).toBeUndefined();
  expect(sysctls({ port: 1024, metrics: { port: 1025 } })).toBeUndefined();
  expect(sysctls({ port: 1023 })).toEqual(lowered(1023));
  expect(sysctls({ port: 443, metrics: {} })).toEqual(lowered(443));
  expect(sysctls({ metrics: { port: 1023 } })).toEqual(lowered(1023));
  expect(sysctls({ port: 443, metrics: { port: 80 } })).toEqual(lowered(80));
  expect(sysctls({ port: 1, metrics: { port: 2 } })).toEqual(lowered(1));
});

test('every daemon gets it: StatefulSet replicas and native builders', () => {
  const props: BuildkitChartProps = {
    port: 443,
    workload: 'statefulset',
    replicas: 2,
    architecture: 'amd64',
    nativeBuilders: [{ architecture: 'arm64', loadBalancerIP: '192.168.80.111' }],
  };
  expect(sysctls(props, 'StatefulSet')).toEqual(lowered(443));
  expect(sysctls(props, 'StatefulSet', 'buildkitd-arm64')).toEqual(lowered(443));
});

test('Pod Security baseline admits it: hardened mode may serve on 443', () => {
  const hardened = template({ podSecurity: 'baseline', port: 443, metrics: { port: 80 } });
  expect(hardened.spec.securityContext.sysctls).toEqual(lowered(80));
  expect(baselineViolations(hardened)).toEqual([]);
});

/**
 * Binds each of the daemon container's ports as the pod would: in a network namespace of its own with the pod's
 * sysctls written (or none), as the pod's user in a user namespace of its own, which is how rootlesskit runs
 * buildkitd. Returns each port's outcome: 'bound' or the error code.
 */
function bindAsThePodWould(pod: any, withSysctls: boolean): Record<string, string> {
  const { runAsUser, runAsGroup, sysctls: podSysctls = [] } = pod.spec.securityContext;
  const ports = pod.spec.containers[0].ports.map((p: any) => p.containerPort);
  const bind = `
    const net = require('node:net');
    const results = {};
    let left = process.argv.length - 1;
    for (const port of process.argv.slice(1)) {
      const server = net.createServer();
      const done = (outcome) => { results[port] = outcome; server.close(); if (--left === 0) console.log(JSON.stringify(results)); };
      server.on('error', (e) => done(e.code)).listen(Number(port), '0.0.0.0', () => done('bound'));
    }`;
  const asPod = `
    const { writeFileSync } = require('node:fs');
    const { execFileSync } = require('node:child_process');
    const [sysctls, user, group, ...ports] = process.argv.slice(1);
    for (const s of JSON.parse(sysctls)) writeFileSync('/proc/sys/' + s.name.replaceAll('.', '/'), s.value);
    process.stdout.write(execFileSync('setpriv', ['--reuid=' + user, '--regid=' + group, '--clear-groups',
      'unshare', '--user', '--map-root-user', process.execPath, '-e', ${JSON.stringify(bind)}, ...ports]));`;
  const args = [JSON.stringify(withSysctls ? podSysctls : []), String(runAsUser), String(runAsGroup), ...ports.map(String)];
  return JSON.parse(execFileSync('unshare', ['--net', process.execPath, '-e', asPod, ...args], { encoding: 'utf8' }));
}

testUnless(namespacesMissingReason())(
  'in namespaces set as the pod sets them, the daemon user binds every port it declares; without the sysctl it cannot',
  () => {
    const pod = template({ port: 443, metrics: { port: 80 } });
    expect(bindAsThePodWould(pod, true)).toEqual({ 443: 'bound', 80: 'bound' });
    expect(bindAsThePodWould(pod, false)).toEqual({ 443: 'EACCES', 80: 'EACCES' });
    // Lowered no further than asked: with port 443's pod, a port below it stays refused.
    const below = template({ port: 443, metrics: { port: 442 } });
    const only443 = template({ port: 443 }).spec.securityContext;
    expect(bindAsThePodWould({ ...below, spec: { ...below.spec, securityContext: only443 } }, true)).toEqual({
      443: 'bound',
      442: 'EACCES',
    });
    expect(bindAsThePodWould(template({}), false)).toEqual({ 1234: 'bound' });
  },
);
