import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Testing } from 'cdk8s';
import { BuildkitChart } from '../lib/buildkit-chart';
import type { BuildkitChartProps } from '../lib/buildkit-chart-props';
import { buildGitops } from '../lib/gitops';
import { checkKnownKeys } from '../lib/props-shape';
import { RegistryCache } from '../lib/registry-cache';
import { synthesize } from '../lib/synth';
import { serviceCharts } from '../lib/tenants';
import { daemonContainer, synthChart } from './support/chart';
import { ROOT, treeDigest } from './support/dist';

// A PEM block of a type; a key's type is spelt in pieces, so that no scan for committed keys trips on this file.
const KEY_TYPE = ['PRIVATE', 'KEY'].join(' ');
const pemBlock = (type: string) => `-----BEGIN ${type}-----\nMIIE\n-----END ${type}-----\n`;

// Each bad setting fails the synth with one line that names the prop, the value and the fix.
const cases: Array<[string, BuildkitChartProps, RegExp]> = [
  // Registry files: plain file names, looked up as the object's own keys, and CA files that hold certificates only.
  [
    'a CA file named like an Object.prototype member',
    { registries: { 'r.lan': { ca: ['constructor'] } } },
    /^BuildkitDaemon: invalid registries\["r\.lan"\]\.ca entry "constructor": no such file in registryCaCertificates/,
  ],
  [
    'a keypair file that climbs out of its folder',
    {
      registryKeypairSecret: 'keys',
      registries: { 'r.lan': { keypairs: [{ key: '../../../home/user/.config/buildkit/x', cert: 'c.pem' }] } },
    },
    /^BuildkitDaemon: invalid registries\["r\.lan"\]\.keypairs\[0\]\.key "\.\.\/\.\.\/\.\.\/home\/user\/\.config\/buildkit\/x": use a plain file name such as ca\.pem/,
  ],
  [
    'an absolute keypair path',
    { registryKeypairSecret: 'keys', registries: { 'r.lan': { keypairs: [{ key: 'k.pem', cert: '/abs' }] } } },
    /invalid registries\["r\.lan"\]\.keypairs\[0\]\.cert "\/abs": use a plain file name/,
  ],
  [
    'a keypair without its certificate',
    { registryKeypairSecret: 'keys', registries: { 'r.lan': { keypairs: [{ key: 'k.pem' } as never] } } },
    /invalid registries\["r\.lan"\]\.keypairs\[0\]\.cert undefined: use a plain file name/,
  ],
  [
    'a registry CA key that is a path',
    { registryCaCertificates: { 'certs/a.pem': '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n' } },
    /^BuildkitDaemon: invalid registryCaCertificates key "certs\/a\.pem": use a plain file name/,
  ],
  [
    'a private key given as a registry CA',
    {
      registryCaCertificates: {
        'a.pem': `${pemBlock('CERTIFICATE')}${pemBlock(KEY_TYPE)}`,
      },
    },
    /^BuildkitDaemon: invalid registryCaCertificates\["a\.pem"\]: it holds a PRIVATE KEY block; give only PEM CERTIFICATE blocks \(never a key: dist\/ is plain text\)$/,
  ],
  [
    'a registry CA with no certificate',
    { registryCaCertificates: { 'a.pem': 'hello' } },
    /invalid registryCaCertificates\["a\.pem"\]: it holds no certificate/,
  ],
  // Numbers that flow into BuildKit, Go and Kubernetes stay within what they hold.
  [
    'a cache of 1000Ei',
    { cache: { size: '1000Ei' } },
    /^BuildkitChart: invalid cache\.size "1000Ei": that is over 1Pi, past any disk or node; use a quantity such as 50Gi$/,
  ],
  ['a cache of 9Ei', { cache: { size: '9Ei' } }, /^BuildkitChart: invalid cache\.size "9Ei": that is over 1Pi/],
  ['a cache of 1e28 bytes', { cache: { size: '1e28' } }, /^BuildkitChart: invalid cache\.size "1e28": that is over 1Pi/],
  ['a cache just over 1Pi', { cache: { size: '1025Ti' } }, /^BuildkitChart: invalid cache\.size "1025Ti": that is over 1Pi/],
  ['a registry cache of 2Pi', { registryCache: { size: '2Pi' } }, /^BuildkitChart: invalid registryCache\.size "2Pi": that is over 1Pi/],
  [
    "a history age past Go's longest duration",
    { history: { maxAge: '9999999999999h' } },
    /^BuildkitDaemon: invalid history\.maxAge "9999999999999h": that is past Go's longest duration \(about 2562047h\); use a duration such as 168h or 30m$/,
  ],
  [
    "a history age one hour past Go's longest",
    { history: { maxAge: '2562048h' } },
    /invalid history\.maxAge "2562048h": that is past Go's longest duration/,
  ],
  [
    'a CPU limit that is no quantity',
    { resources: { limits: { cpu: 'lots' } } },
    /^BuildkitDaemon: invalid resources\.limits\.cpu "lots": use a positive Kubernetes quantity such as 500m$/,
  ],
  // config.ts runs without type-checking: each wrong type is refused, never read as something else.
  [
    'insecure as the string "false"',
    { registries: { 'docker.io': { insecure: 'false' as never } } },
    /^BuildkitDaemon: invalid registries\["docker\.io"\]\.insecure "false": use true or false \(without quotes\)$/,
  ],
  [
    'http as the string "false"',
    { registries: { 'registry.lan': { http: 'false' as never } } },
    /^BuildkitDaemon: invalid registries\["registry\.lan"\]\.http "false": use true or false \(without quotes\)$/,
  ],
  [
    'imageIsRootless as a string',
    { imageIsRootless: 'false' as never },
    /^BuildkitChart: invalid imageIsRootless "false": use true or false \(without quotes\)$/,
  ],
  [
    'cache.persistent as a string',
    { cache: { persistent: 'false' as never } },
    /^BuildkitChart: invalid cache\.persistent "false": use true or false \(without quotes\)$/,
  ],
  [
    'a registry given as a string',
    { registries: { 'docker.io': 'mirror.lan' as never } },
    /^BuildkitDaemon: invalid registries\["docker\.io"\] "mirror\.lan": use an object with mirrors, http, insecure, ca, keypairs$/,
  ],
  ['registries as a list', { registries: ['docker.io'] as never }, /^BuildkitChart: invalid registries \["docker\.io"\]: use an object$/],
  [
    'a native builder of null',
    { architecture: 'amd64', nativeBuilders: [null as never] },
    /^BuildkitChart: invalid nativeBuilders\[0\] null: use an object with architecture, loadBalancerIP, name$/,
  ],
  [
    'a native builder beside a main daemon pinned to no architecture',
    { nativeBuilders: [{ architecture: 'arm64', loadBalancerIP: '10.0.0.9' }] },
    /^BuildkitChart: invalid nativeBuilders\[0\] \{"architecture":"arm64","loadBalancerIP":"10\.0\.0\.9"\}: the main daemon has no architecture, so it may run on arm64 nodes; pin it with architecture, such as 'amd64'$/,
  ],
  [
    'an amd64 native builder beside a main daemon pinned to no architecture',
    { nativeBuilders: [{ architecture: 'amd64', loadBalancerIP: '10.0.0.9' }] },
    /: the main daemon has no architecture, so it may run on amd64 nodes; pin it with architecture, such as 'arm64'$/,
  ],
  [
    'a native builder without its address',
    { architecture: 'amd64', nativeBuilders: [{ architecture: 'arm64' } as never] },
    /^BuildkitChart: invalid nativeBuilders\[0\] \{"architecture":"arm64"\}: it has no loadBalancerIP; give each native builder an address of its own$/,
  ],
  ['replicas as a string', { replicas: '2' as never }, /^BuildkitChart: invalid replicas "2": use a number \(without quotes\)$/],
  [
    'metrics as true',
    { metrics: true as never },
    /^BuildkitChart: invalid metrics true: use an object with port, serviceMonitor, scrapeAnnotations/,
  ],
  [
    'perReplicaIPs as one string',
    { perReplicaIPs: '10.0.0.1' as never },
    /^BuildkitChart: invalid perReplicaIPs "10\.0\.0\.1": use a list of strings/,
  ],
  [
    'a registry CA that is no string',
    { registryCaCertificates: { 'a.pem': 42 as never } },
    /^BuildkitChart: invalid registryCaCertificates \{"a\.pem":42\}: use an object whose values are strings$/,
  ],
  [
    'history.maxEntries as a string',
    { history: { maxEntries: '300' as never } },
    /^BuildkitChart: invalid history\.maxEntries "300": use a number/,
  ],
  [
    'an address that is not IPv4',
    { loadBalancerIP: '192.168.80.300' },
    /^BuildkitService: invalid loadBalancerIP "192\.168\.80\.300": use a dotted IPv4 address/,
  ],
  ['an IPv6 address', { loadBalancerIP: 'fd00::10' }, /invalid loadBalancerIP "fd00::10"/],
  ['port 0', { port: 0 }, /^BuildkitDaemon: invalid port 0: use a whole number from 1 to 65535$/],
  ['port 65536', { port: 65536 }, /invalid port 65536/],
  ['a fractional port', { port: 12.5 }, /invalid port 12\.5/],
  [
    'negative replicas',
    { replicas: -1 },
    /^BuildkitDaemon: invalid replicas -1: use a whole number from 0 to 100 \(more daemons want a chart each\)$/,
  ],
  ['fractional replicas', { replicas: 1.5 }, /^BuildkitDaemon: invalid replicas 1\.5: use a whole number from 0 to 100/],
  ['a billion replicas', { replicas: 1e9 }, /^BuildkitDaemon: invalid replicas 1000000000: use a whole number from 0 to 100/],
  ['101 replicas', { replicas: 101 }, /invalid replicas 101: use a whole number from 0 to 100/],
  [
    'a drain longer than a day',
    { drainTimeoutSeconds: 86401 },
    /^BuildkitDaemon: invalid drainTimeoutSeconds 86401: use a whole number from 0 to 86400 \(a day at most/,
  ],
  ['a drain of 1e12 seconds', { drainTimeoutSeconds: 1e12 }, /invalid drainTimeoutSeconds 1000000000000/],
  [
    'a cache of 1e400 bytes',
    { cache: { size: '1e400' } },
    /^BuildkitChart: invalid cache\.size "1e400": use a positive Kubernetes quantity such as 50Gi$/,
  ],
  ['a cache of 1 byte', { cache: { size: '1' } }, /^BuildkitChart: invalid cache\.size "1": below the 10Gi minimum/],
  [
    'a memory limit of 1 byte',
    { resources: { requests: { memory: '1' }, limits: { memory: '1' } } },
    /^BuildkitDaemon: invalid resources\.limits\.memory "1": that is under 1048576 base units; use a quantity such as 1Gi$/,
  ],
  [
    'a memory limit that is no quantity, the request left to follow it',
    { resources: { limits: { memory: 'lots' } } },
    /^BuildkitDaemon: invalid resources\.limits\.memory "lots": use a positive Kubernetes quantity such as 1Gi$/,
  ],
  [
    'a memory request of 1 byte under a sound limit',
    { resources: { requests: { memory: '1' } } },
    /^BuildkitDaemon: invalid resources\.requests\.memory "1": that is under 1048576 base units; use a quantity such as 1Gi$/,
  ],
  [
    'an image with a space',
    { image: 'moby/build kit:v0.27.1-rootless' },
    /^BuildkitDaemon: invalid image "moby\/build kit:v0\.27\.1-rootless": use an image reference such as moby\/buildkit:v0\.32\.2-rootless or registry\.local:5000\/moby\/buildkit@sha256:<64 hex>$/,
  ],
  [
    'an image with a newline before its last slash',
    { image: 'evil\nmoby/buildkit:v0.27.1-rootless' },
    /invalid image "evil\\nmoby\/buildkit:v0\.27\.1-rootless": use an image reference/,
  ],
  [
    'an image with an uppercase repository',
    { image: 'Moby/buildkit:v0.27.1-rootless' },
    /invalid image "Moby\/buildkit:v0\.27\.1-rootless": use an image reference/,
  ],
  [
    'an image whose digest is short',
    { image: 'moby/buildkit@sha256:abc', imageIsRootless: true },
    /invalid image "moby\/buildkit@sha256:abc": use an image reference/,
  ],
  [
    'the unspecified address',
    { loadBalancerIP: '0.0.0.0' },
    /^BuildkitService: invalid loadBalancerIP "0\.0\.0\.0": an unspecified address cannot be a LoadBalancer's; use one from your load balancer's address pool, such as 192\.168\.80\.110$/,
  ],
  ['a loopback address', { loadBalancerIP: '127.0.0.5' }, /invalid loadBalancerIP "127\.0\.0\.5": a loopback address/],
  ['a link-local address', { loadBalancerIP: '169.254.10.1' }, /invalid loadBalancerIP "169\.254\.10\.1": a link-local address/],
  ['a multicast address', { loadBalancerIP: '239.1.1.1' }, /invalid loadBalancerIP "239\.1\.1\.1": a multicast address/],
  [
    'the broadcast address',
    { loadBalancerIP: '255.255.255.255' },
    /invalid loadBalancerIP "255\.255\.255\.255": a reserved or broadcast address/,
  ],
  [
    'a per-replica IP on loopback',
    { workload: 'statefulset', perReplicaIPs: ['127.0.0.1'] },
    /invalid perReplicaIPs\[0\] "127\.0\.0\.1": a loopback address/,
  ],
  [
    'a native builder on a multicast IP',
    { architecture: 'amd64', nativeBuilders: [{ architecture: 'arm64', loadBalancerIP: '224.0.0.1' }] },
    /^BuildkitChart: invalid nativeBuilders\[0\]\.loadBalancerIP "224\.0\.0\.1": a multicast address/,
  ],
  [
    'a native builder named like the main daemon',
    { architecture: 'amd64', nativeBuilders: [{ architecture: 'arm64', loadBalancerIP: '10.0.0.9', name: 'buildkitd' }] },
    /^BuildkitChart: invalid nativeBuilders\[0\] .*: the name buildkitd is taken by another daemon; give each native builder its own name and architecture$/,
  ],
  [
    'two native builders of one architecture',
    {
      architecture: 'amd64',
      nativeBuilders: [
        { architecture: 'arm64', loadBalancerIP: '10.0.0.9' },
        { architecture: 'arm64', loadBalancerIP: '10.0.0.10', name: 'other' },
      ],
    },
    /^BuildkitChart: invalid nativeBuilders\[1\] .*: architecture arm64 is taken by another daemon/,
  ],
  [
    'a client namespace that is no DNS label',
    { clientNamespace: 'CI Runners' },
    /^BuildkitChart: invalid clientNamespace "CI Runners": use a DNS label/,
  ],
  ['a misspelt setting', { replica: 3 } as any, /^BuildkitChart: unknown setting "replica": did you mean "replicas"\?$/],
  [
    'a misspelt nested setting',
    { cache: { sise: '20Gi' } } as any,
    /^BuildkitChart: unknown setting "cache\.sise": did you mean "cache\.size"\?$/,
  ],
  [
    'a misspelt setting in a list',
    { architecture: 'amd64', nativeBuilders: [{ architecture: 'arm64', loadBalancerIP: '10.0.0.9', nmae: 'b' }] } as any,
    /^BuildkitChart: unknown setting "nativeBuilders\[0\]\.nmae": did you mean "nativeBuilders\[0\]\.name"\?$/,
  ],
  [
    'a setting like no other',
    { colour: 'blue' } as any,
    /^BuildkitChart: unknown setting "colour": the settings here are namespace, clientNamespace, name, replicas,/,
  ],
  [
    'a setting the chart sets itself',
    { cache: { perReplica: true } } as any,
    /^BuildkitChart: unknown setting "cache\.perReplica": the settings here are persistent, size,/,
  ],
  [
    'a memory request above the default limit',
    { resources: { requests: { memory: '16Gi' } } },
    /^BuildkitDaemon: invalid resources\.requests\.memory "16Gi": it exceeds the limit "6Gi", which the API server refuses; lower the request or raise resources\.limits\.memory$/,
  ],
  [
    'a memory limit too small for the parallel steps',
    { maxParallelism: 8, resources: { limits: { memory: '4Gi' } } },
    /^BuildkitDaemon: invalid resources\.limits\.memory "4Gi": 8 parallel steps need at least 4\.5Gi \(512Mi each and the daemon's\); raise the limit or lower maxParallelism$/,
  ],
  [
    'no parallel step at all',
    { maxParallelism: 0 },
    /^BuildkitDaemon: invalid maxParallelism 0: use a whole number from 1 to 64 \(build steps at once\)$/,
  ],
  ['65 parallel steps', { maxParallelism: 65 }, /^BuildkitDaemon: invalid maxParallelism 65: use a whole number from 1 to 64/],
  [
    'a history age that is no Go duration',
    { history: { maxAge: '7 days' } },
    /^BuildkitDaemon: invalid history\.maxAge "7 days": use a Go duration such as 168h or 30m$/,
  ],
  ['a negative history size', { history: { maxEntries: -1 } }, /invalid history\.maxEntries -1/],
  [
    'a headroom under 2Gi',
    { cache: { headroom: '1Gi' } },
    /^BuildkitChart: invalid cache\.headroom "1Gi": it must hold the writes of one cache-guard interval \(at least 2Gi\) and leave the cache at least half of the 50Gi size/,
  ],
  ['a headroom over half the cache', { cache: { size: '20Gi', headroom: '11Gi' } }, /^BuildkitChart: invalid cache\.headroom "11Gi"/],
  [
    'an SELinux type that is no type',
    { seLinuxType: 'spc' },
    /^BuildkitDaemon: invalid seLinuxType "spc": use an SELinux type such as spc_t$/,
  ],
  // The type alone: a whole context (user:role:type) or a level after the type is not what the field takes.
  [
    'a whole SELinux context',
    { seLinuxType: 'system_u:system_r:spc_t' },
    /^BuildkitDaemon: invalid seLinuxType "system_u:system_r:spc_t": use an SELinux type such as spc_t$/,
  ],
  [
    'an SELinux type with a level',
    { seLinuxType: 'spc_t:s0' },
    /^BuildkitDaemon: invalid seLinuxType "spc_t:s0": use an SELinux type such as spc_t$/,
  ],
  [
    'a CPU request above its limit',
    { resources: { requests: { cpu: '2' }, limits: { cpu: '1500m' } } },
    /invalid resources\.requests\.cpu "2": it exceeds the limit "1500m"/,
  ],
  [
    'an architecture no node carries',
    { architecture: 'x86' },
    /^BuildkitDaemon: invalid architecture "x86": no node carries that kubernetes\.io\/arch label, so the pods would never schedule; use one of amd64, arm64, arm, ppc64le, s390x, riscv64, 386$/,
  ],
  [
    'a native builder of an unknown architecture',
    { architecture: 'amd64', nativeBuilders: [{ architecture: 'aarch64', loadBalancerIP: '10.0.0.9' }] },
    /^BuildkitChart: invalid nativeBuilders\[0\]\.architecture "aarch64": no node carries/,
  ],
  [
    'a cache below the GC headroom minimum',
    { cache: { size: '1Mi' } },
    /^BuildkitChart: invalid cache\.size "1Mi": below the 10Gi minimum, .*; use at least 10Gi$/,
  ],
  [
    'a cache one byte short of the minimum',
    { cache: { size: String(10 * 2 ** 30 - 1) } },
    /^BuildkitChart: invalid cache\.size "10737418239": below the 10Gi minimum/,
  ],
  [
    'an image that is not rootless',
    { image: 'moby/buildkit:v0.27.1' },
    /^BuildkitDaemon: invalid image "moby\/buildkit:v0\.27\.1": the daemon runs rootless BuildKit only; use a -rootless tag such as moby\/buildkit:v0\.32\.2-rootless@sha256:[0-9a-f]{64}, or set imageIsRootless: true/,
  ],
  [
    'a digest without the rootless assertion',
    { image: `moby/buildkit@sha256:${'a'.repeat(64)}` },
    /invalid image "moby\/buildkit@sha256:a+": the daemon runs rootless BuildKit only/,
  ],
  [
    'an image declared not rootless',
    { image: 'moby/buildkit:v0.27.1-rootless', imageIsRootless: false },
    /the daemon runs rootless BuildKit only/,
  ],
  [
    'a cache size that is not a quantity',
    { cache: { size: '50GB' } },
    /^BuildkitChart: invalid cache\.size "50GB": use a positive Kubernetes quantity such as 50Gi$/,
  ],
  [
    'a zero cache size',
    { cache: { size: '0' } },
    /^BuildkitChart: invalid cache\.size "0": use a positive Kubernetes quantity such as 50Gi$/,
  ],
  [
    'a storage class for an emptyDir cache, which would be dropped',
    { cache: { storageClassName: 'fast' } },
    /^BuildkitChart: invalid cache\.storageClassName "fast": it applies to a persistent cache only, and this one is an emptyDir; set cache\.persistent: true, or leave it out$/,
  ],
  [
    'a claim name for an emptyDir cache, which would be dropped',
    { cache: { persistent: false, claimName: 'my-cache' } },
    /^BuildkitChart: invalid cache\.claimName "my-cache": it applies to a persistent cache only/,
  ],
  [
    'a claim name where each replica has its own claim',
    { workload: 'statefulset', cache: { persistent: true, claimName: 'my-cache' } },
    /^BuildkitChart: invalid cache\.claimName "my-cache": each replica's claim is named by its StatefulSet \(cache-<pod>\); leave it out$/,
  ],
  [
    'a storage class for an emptyDir registry cache, which would be dropped',
    { registryCache: { size: '20Gi', storageClassName: 'fast' } },
    /^BuildkitChart: invalid registryCache\.storageClassName "fast": it applies to a persistent cache only, and this one is an emptyDir; set registryCache\.persistent: true, or leave it out$/,
  ],
  [
    'a registry cache storage class that is no Kubernetes name',
    { registryCache: { size: '20Gi', persistent: true, storageClassName: 'Fast_SSD' } },
    /^BuildkitChart: invalid registryCache\.storageClassName "Fast_SSD": use a DNS name of lowercase labels/,
  ],
  [
    'Prometheus labels with nothing to label',
    { metrics: { serviceMonitor: false, prometheusLabels: { release: 'kube-prometheus-stack' } } },
    /^BuildkitChart: invalid metrics\.prometheusLabels \{"release":"kube-prometheus-stack"\}: it labels the ServiceMonitor and the PrometheusRule, and there is neither; set metrics\.serviceMonitor: true or metrics\.alerts, or leave it out$/,
  ],
  [
    'a zero CPU request',
    { resources: { requests: { cpu: '0' } } },
    /^BuildkitDaemon: invalid resources\.requests\.cpu "0": use a positive Kubernetes quantity such as 500m$/,
  ],
  [
    'an image name of 256 characters',
    { image: `registry.local/${'a'.repeat(241)}:v1-rootless` },
    /^BuildkitDaemon: invalid image "registry\.local\/a{241}:v1-rootless": use an image reference such as/,
  ],
  [
    'no session affinity timeout',
    { replicas: 2, sessionAffinityTimeoutSeconds: 0 },
    /^BuildkitService: invalid sessionAffinityTimeoutSeconds 0: use a whole number of at least 1$/,
  ],
  [
    'a fractional session affinity timeout',
    { replicas: 2, sessionAffinityTimeoutSeconds: 1.5 },
    /^BuildkitService: invalid sessionAffinityTimeoutSeconds 1\.5: use a whole number of at least 1$/,
  ],
  ['a CPU request that is not a quantity', { resources: { requests: { cpu: 'two' } } }, /invalid resources\.requests\.cpu "two"/],
  ['an image without a tag', { image: 'moby/buildkit' }, /^BuildkitDaemon: invalid image "moby\/buildkit": pin a release tag or digest/],
  ['an image on a registry port without a tag', { image: 'registry:5000/buildkit' }, /invalid image "registry:5000\/buildkit"/],
  [
    'the latest tag',
    { image: 'moby/buildkit:latest' },
    /^BuildkitDaemon: invalid image "moby\/buildkit:latest": "latest" names no release, so it moves under you; pin a release tag such as moby\/buildkit:v0\.32\.2-rootless, or add the digest$/,
  ],
  [
    "Distribution's moving major tag for the pull-through cache",
    { registryCache: { size: '20Gi', image: 'registry:2' } },
    /^BuildkitChart: invalid registryCache\.image "registry:2": "2" names no release, so it moves under you; pin a release tag such as registry:2\.8\.3, or add the digest$/,
  ],
  ...['rootless', 'master-rootless', 'buildx-stable-1-rootless', 'nightly-rootless'].map((tag): [string, BuildkitChartProps, RegExp] => [
    `BuildKit's moving tag ${tag}`,
    { image: `moby/buildkit:${tag}` },
    new RegExp(`^BuildkitDaemon: invalid image "moby/buildkit:${tag}": "${tag}" names no release, so it moves under you; `),
  ]),
  ['a namespace that is not a DNS label', { namespace: 'Build_Kit' }, /^BuildkitChart: invalid namespace "Build_Kit": use a DNS label/],
  ...['default', 'kube-system', 'kube-public', 'kube-node-lease', 'kube-flannel'].map((namespace): [string, BuildkitChartProps, RegExp] => [
    `Kubernetes's own namespace ${namespace}, whose Pod Security the chart would loosen`,
    { namespace },
    new RegExp(
      `^BuildkitChart: invalid namespace "${namespace}": the chart labels its namespace's Pod Security for the daemons; give the service a namespace of its own, such as 'buildkit'$`,
    ),
  ]),
  ['a name that is not a DNS label', { name: 'buildkitd.' }, /^BuildkitDaemon: invalid name "buildkitd\.": use a DNS label/],
  ['a 64-character name', { name: 'a'.repeat(64) }, /invalid name/],
  [
    'one persistent cache for three replicas',
    { replicas: 3, cache: { persistent: true } },
    /^BuildkitDaemon: invalid replicas 3: a persistent cache volume serves one daemon \(BuildKit allows one daemon per state directory\)/,
  ],
  ['an address pool that is not a DNS label', { addressPool: 'Pool 1' }, /^BuildkitService: invalid addressPool "Pool 1"/],
  [
    'per-replica IPs fewer than replicas',
    { workload: 'statefulset', replicas: 3, perReplicaIPs: ['10.0.0.1', '10.0.0.2'] },
    /^BuildkitChart: invalid perReplicaIPs: 2 addresses for 3 replicas; give exactly one IP per replica$/,
  ],
  [
    'per-replica IPs on a Deployment',
    { replicas: 2, perReplicaIPs: ['10.0.0.1', '10.0.0.2'] },
    /invalid perReplicaIPs: only StatefulSet pods have stable names/,
  ],
  ['a per-replica IP that is not IPv4', { workload: 'statefulset', perReplicaIPs: ['10.0.0'] }, /invalid perReplicaIPs\[0\] "10\.0\.0"/],
  [
    'the same IP twice',
    { workload: 'statefulset', perReplicaIPs: ['192.168.80.110'] },
    /invalid LoadBalancer IPs: 192\.168\.80\.110 is used twice/,
  ],
  [
    'an invalid CIDR',
    { networkPolicy: { allowedCidrs: ['10.0.0.0/33'] } },
    /^BuildkitChart: invalid networkPolicy\.allowedCidrs entry "10\.0\.0\.0\/33"/,
  ],
  [
    'a CIDR without a prefix',
    { networkPolicy: { allowedCidrs: ['10.0.0.0'] } },
    /^BuildkitChart: invalid networkPolicy\.allowedCidrs entry "10\.0\.0\.0"/,
  ],
  [
    'an externalTrafficPolicy in the wrong case, which the API server refuses (and with it all of dist/)',
    { externalTrafficPolicy: 'local' as never },
    /^BuildkitService: invalid externalTrafficPolicy "local": use 'Cluster' or 'Local'$/,
  ],
  [
    'a CIDR with bits past its prefix, which network plugins read three ways',
    { networkPolicy: { allowedCidrs: ['192.168.1.1/24'] } },
    /^BuildkitChart: invalid networkPolicy\.allowedCidrs entry "192\.168\.1\.1\/24": it has bits set past its prefix; use 192\.168\.1\.0\/24 for the range, or 192\.168\.1\.1\/32 for the one address$/,
  ],
  [
    'an egress destination with bits past its prefix',
    { egress: { allow: [{ cidr: '10.0.0.5/8', port: 443 }] } },
    /^BuildkitChart: invalid egress\.allow\[0\]\.cidr "10\.0\.0\.5\/8": it has bits set past its prefix; use 10\.0\.0\.0\/8 for the range/,
  ],
  [
    'a metrics port equal to the build port',
    { metrics: { port: 1234 } },
    /^BuildkitDaemon: invalid metricsPort 1234: it must differ from port 1234$/,
  ],
  [
    'a metrics port out of range',
    { metrics: { port: 70000 } },
    /^BuildkitChart: invalid metrics\.port 70000: use a whole number from 1 to 65535$/,
  ],
  ['a metrics port of 0', { metrics: { port: 0 } }, /^BuildkitChart: invalid metrics\.port 0: use a whole number from 1 to 65535$/],
  [
    'an affinity timeout over a day',
    { replicas: 2, sessionAffinityTimeoutSeconds: 90000 },
    /invalid sessionAffinityTimeoutSeconds 90000: Kubernetes allows at most 86400/,
  ],
  ['a negative drain timeout', { drainTimeoutSeconds: -1 }, /invalid drainTimeoutSeconds -1/],
  ['an unknown workload', { workload: 'daemonset' as any }, /invalid workload "daemonset": use 'deployment' or 'statefulset'/],
  [
    'a native builder on the main IP',
    { architecture: 'amd64', nativeBuilders: [{ architecture: 'arm64', loadBalancerIP: '192.168.80.110' }] },
    /192\.168\.80\.110 is used twice/,
  ],
  ['a cluster domain with a space', { clusterDomain: 'cluster local' }, /^BuildkitChart: invalid clusterDomain "cluster local"/],
  [
    'a 254-character cluster domain',
    { clusterDomain: `${[...Array(3)].map(() => 'c'.repeat(63)).join('.')}.${'d'.repeat(62)}` },
    /^BuildkitChart: invalid clusterDomain "c+\.c+\.c+\.d+": use a DNS name/,
  ],
  [
    'a cluster domain with a 64-character label',
    { clusterDomain: `${'c'.repeat(64)}.local` },
    /^BuildkitChart: invalid clusterDomain "c{64}\.local"/,
  ],
  ['a cluster domain with one bad label among good ones', { clusterDomain: 'cluster.Local' }, /invalid clusterDomain "cluster\.Local"/],
];

// As config.ts's users meet them: through serviceCharts, which names each refusal by its setting.
describe('bad settings fail the synth with one clear line, and dist/ stays as it was', () => {
  const work = mkdtempSync(join(tmpdir(), 'buildkit-validation-'));
  const dist = join(work, 'dist');
  cpSync(join(ROOT, 'dist'), dist, { recursive: true });
  const before = treeDigest(dist);
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  test.each(cases)('%s', (_name, props, message) => {
    let error: Error | undefined;
    try {
      synthesize(dist, (app) => serviceCharts(app, props));
    } catch (e) {
      error = e as Error;
    }
    expect(error?.message).toMatch(message);
    expect(error?.message).not.toContain('\n');
    expect(treeDigest(dist)).toEqual(before);
  });

  test.each([
    ['a digest-pinned image declared rootless', { image: `moby/buildkit@sha256:${'a'.repeat(64)}`, imageIsRootless: true }],
    ['a rootless tag with a digest', { image: `moby/buildkit:v0.27.1-rootless@sha256:${'a'.repeat(64)}` }],
    ['replicas 0: the builder parked', { replicas: 0 }],
    ['100 replicas and a day of drain', { replicas: 100, drainTimeoutSeconds: 86400 }],
    [
      'addresses next to the refused ranges',
      { loadBalancerIP: '126.255.255.254', workload: 'statefulset', replicas: 2, perReplicaIPs: ['128.0.0.1', '223.255.255.254'] },
    ],
    ['a registry on localhost with a port', { image: 'localhost:5000/moby/buildkit:v0.27.1-rootless' }],
    ['a memory request of exactly 1Mi', { resources: { requests: { memory: '1Mi' } } }],
    ['the smallest cache', { cache: { size: '10Gi' } }],
    ['a request equal to its limit', { resources: { requests: { cpu: '2', memory: '6Gi' }, limits: { cpu: '2' } } }],
    ['one parallel step in 1Gi, and 64', { maxParallelism: 1, resources: { limits: { memory: '1Gi' } } }],
    ['64 parallel steps', { maxParallelism: 64 }],
    [
      'a headroom of 2Gi and of half the cache',
      {
        cache: { size: '20Gi', headroom: '10Gi' },
        architecture: 'amd64',
        nativeBuilders: [{ architecture: 'arm64', loadBalancerIP: '10.0.0.9' }],
      },
    ],
    ['spc_t on SELinux nodes', { seLinuxType: 'spc_t' }],
    ['every architecture nodes carry', { architecture: 'riscv64', nativeBuilders: [{ architecture: '386', loadBalancerIP: '10.0.0.9' }] }],
    ['a registry with a port and a tag', { image: 'registry.local:5000/moby/buildkit:v0.27.1-rootless' }],
    ['replicas 3 on ephemeral caches', { replicas: 3 }],
    ['port 65535', { port: 65535 }],
    [
      'either externalTrafficPolicy',
      { externalTrafficPolicy: 'Cluster', architecture: 'amd64', nativeBuilders: [{ architecture: 'arm64', loadBalancerIP: '10.0.0.9' }] },
    ],
    ['externalTrafficPolicy Local', { externalTrafficPolicy: 'Local' }],
    ['port 1', { port: 1 }],
    ['a 63-character name and a one-character namespace', { name: 'a'.repeat(63), namespace: 'b' }],
    ["namespaces beside Kubernetes's own: kubeflow", { namespace: 'kubeflow' }],
    ['default-builds', { namespace: 'default-builds' }],
    ['builds-kube-system', { namespace: 'builds-kube-system' }],
    ['a client namespace of default: CI jobs there mount the client Secret', { clientNamespace: 'default' }],
    [
      'a 253-character cluster domain of 63-character labels',
      { clusterDomain: `${[...Array(3)].map(() => 'c'.repeat(63)).join('.')}.${'d'.repeat(61)}` },
    ],
    ['an image without a slash', { image: 'buildkit:v0.27.1-rootless' }],
    ['an image name of 255 characters, the most the registry grammar allows', { image: `registry.local/${'a'.repeat(240)}:v1.0-rootless` }],
    ['a release tag without a digest', { image: 'moby/buildkit:v0.32.2-rootless' }],
    [
      "a mirror's own release tag",
      { image: 'registry.lan/buildkit:2026.11-rootless', registryCache: { size: '20Gi', image: 'registry:3.0.0' } },
    ],
    ['a moving tag held by its digest', { image: `moby/buildkit:rootless@sha256:${'a'.repeat(64)}` }],
    ['a session affinity timeout of 1 second', { replicas: 2, sessionAffinityTimeoutSeconds: 1 }],
    ['a session affinity timeout of a day', { replicas: 2, sessionAffinityTimeoutSeconds: 86400 }],
    ['Prometheus labels on the alerts alone', { metrics: { alerts: {}, prometheusLabels: { release: 'kube-prometheus-stack' } } }],
    [
      'a StatefulSet with a per-replica Longhorn cache and 3 replicas',
      { workload: 'statefulset', replicas: 3, cache: { persistent: true } },
    ],
  ] as Array<[string, BuildkitChartProps]>)('accepts %s', (_name, props) => {
    expect(() => synthChart(props)).not.toThrow();
  });
});

describe('constructs used on their own check their combinations', () => {
  const { Testing } = require('cdk8s');
  const { BuildkitDaemon, BuildkitMetrics, BuildkitService, CacheVolume } = require('../lib');

  test('a ServiceMonitor without the metrics port', () => {
    const chart = Testing.chart();
    const daemon = new BuildkitDaemon(chart, 'd');
    expect(() => new BuildkitMetrics(chart, 'm', { daemon, serviceMonitor: true })).toThrow(
      /^BuildkitMetrics: invalid daemon: it serves no metrics; set the daemon's metricsPort/,
    );
  });

  test('a daemon on its own: baseline settings under privileged are refused; baseline defaults to the node path of the seccomp profile', () => {
    const chart = Testing.chart();
    expect(() => new BuildkitDaemon(chart, 'd1', { seccompLocalhostProfile: 'x.json' })).toThrow(
      /^BuildkitDaemon: invalid seccompLocalhostProfile "x\.json": it applies to podSecurity 'baseline' only; set podSecurity: 'baseline' or drop it$/,
    );
    expect(() => new BuildkitDaemon(chart, 'd2', { appArmorProfile: 'p' })).toThrow(
      /^BuildkitDaemon: invalid appArmorProfile "p": it applies to podSecurity 'baseline' only/,
    );
    const baseline = Testing.chart();
    new BuildkitDaemon(baseline, 'd', { podSecurity: 'baseline' });
    const deployment = Testing.synth(baseline).find((o: any) => o.kind === 'Deployment');
    expect(deployment.spec.template.spec.containers[0].securityContext.seccompProfile).toEqual({
      type: 'Localhost',
      localhostProfile: 'buildkit/buildkit-rootless.json',
    });
  });

  test('ServiceMonitor settings without a ServiceMonitor', () => {
    const chart = Testing.chart();
    const daemon = new BuildkitDaemon(chart, 'd', { metricsPort: 6060 });
    for (const [prop, value] of [
      ['prometheusLabels', { release: 'x' }],
      ['interval', '1m'],
    ] as const) {
      expect(() => new BuildkitMetrics(chart, `m-${prop}`, { daemon, [prop]: value })).toThrow(
        new RegExp(
          `^BuildkitMetrics: invalid ${prop} .*: it applies to the ServiceMonitor, and serviceMonitor is off; set serviceMonitor: true, or leave it out$`,
        ),
      );
      expect(() => new BuildkitMetrics(chart, `s-${prop}`, { daemon, serviceMonitor: true, [prop]: value })).not.toThrow();
    }
  });

  test('a per-replica cache on a Deployment', () => {
    const chart = Testing.chart();
    const cache = new CacheVolume(chart, 'c', { persistent: true, perReplica: true });
    expect(() => new BuildkitDaemon(chart, 'd', { cache })).toThrow(/a per-replica cache needs workload 'statefulset'/);
    expect(() => new CacheVolume(chart, 'e', { perReplica: true })).toThrow(/set persistent: true as well/);
  });

  test('each construct refuses a key it does not know, naming the one meant', () => {
    const chart = Testing.chart();
    expect(() => new BuildkitDaemon(chart, 'd1', { replica: 2 })).toThrow(
      /^BuildkitDaemon: unknown setting "replica": did you mean "replicas"\?$/,
    );
    expect(() => new BuildkitDaemon(chart, 'd2', { resources: { limit: {} } })).toThrow(
      /^BuildkitDaemon: unknown setting "resources\.limit": did you mean "resources\.limits"\?$/,
    );
    expect(() => new CacheVolume(chart, 'c', { sizeGiB: 20 })).toThrow(/^CacheVolume: unknown setting "sizeGiB": did you mean "size"\?$/);
    const daemon = new BuildkitDaemon(chart, 'd3');
    expect(() => new BuildkitService(chart, 's', { daemon, loadBalancerIp: '10.0.0.1' })).toThrow(
      /^BuildkitService: unknown setting "loadBalancerIp": did you mean "loadBalancerIP"\?$/,
    );
    expect(() => new BuildkitMetrics(chart, 'm', { daemon, servicemonitor: true })).toThrow(
      /^BuildkitMetrics: unknown setting "servicemonitor": did you mean "serviceMonitor"\?$/,
    );
    const { BuildkitNetworkPolicy, TlsBundle } = require('../lib');
    expect(() => new BuildkitNetworkPolicy(chart, 'p', { daemon, allowedNamespace: ['ci'] })).toThrow(
      /unknown setting "allowedNamespace": did you mean "allowedNamespaces"\?$/,
    );
    expect(() => new TlsBundle(chart, 't', { secret: 'x' })).toThrow(/^TlsBundle: unknown setting "secret": did you mean "secretName"\?$/);
  });

  test('pinning a pod of a Deployment', () => {
    const chart = Testing.chart();
    const daemon = new BuildkitDaemon(chart, 'd');
    expect(() => new BuildkitService(chart, 's', { daemon, podName: 'buildkitd-0' })).toThrow(/only StatefulSet pods have stable names/);
  });
});

test("the largest values each system holds pass: a 1Pi cache, Go's longest duration", () => {
  expect(() => synthChart({ cache: { size: '1Pi' }, history: { maxAge: '2562047h' } })).not.toThrow();
  expect(() => synthChart({ history: { maxAge: '1.25h30.5m' } })).not.toThrow(); // fractions of more than one digit, as Go takes them
});

test('a CPU request of 200 derives at most 64 parallel steps, and says so on one line', () => {
  const warn = jest.spyOn(console, 'warn').mockImplementation(() => {});
  try {
    const container = daemonContainer(synthChart({ resources: { requests: { cpu: '200' } } }));
    expect(container.resources.limits.memory).toBe('130Gi'); // 64 steps of 2Gi and 2Gi for the daemon
    expect(warn.mock.calls).toEqual([
      ['BuildkitDaemon: maxParallelism from the CPU request would be 200; using 64, the most it takes (set maxParallelism to choose)'],
    ]);
    expect(daemonContainer(synthChart({ resources: { requests: { cpu: '64' } } })).resources.limits.memory).toBe('130Gi');
    expect(warn).toHaveBeenCalledTimes(1);
    expect(() => synthChart({ maxParallelism: 65 })).toThrow(/invalid maxParallelism 65: use a whole number from 1 to 64/);
  } finally {
    warn.mockRestore();
  }
});

test('git revisions and repository URLs people use pass', () => {
  for (const targetRevision of ['main', 'v1.2.0', 'release/2026.12', '0123456789abcdef0123456789abcdef01234567', 'feature_x-y']) {
    for (const repoURL of ['https://git.example.com/a/b.git', 'ssh://git@git.example.com/a/b.git', 'git@github.com:a/b.git']) {
      expect(() =>
        buildGitops(new App(), new Map([[undefined, new BuildkitChart(new App(), 'buildkit')]]), { targetRevision, repoURL }),
      ).not.toThrow();
    }
  }
});

test.each([
  [{ labelValue: 1 }, 'BuildkitChart: invalid metrics.dashboard.labelValue 1: use a string in quotes'],
  [{ labelValue: 'on demand' }, 'BuildkitDashboard: invalid labelValue "on demand": use a Kubernetes label value, such as "1" (in quotes)'],
  [
    { labelName: 'app.kubernetes.io/managed-by' },
    'BuildkitDashboard: invalid labelName "app.kubernetes.io/managed-by": this project sets that label itself; use the sidecar\'s label, such as grafana_dashboard',
  ],
])('dashboard %j is refused with one line', (dashboard, line) => {
  expect(() => synthChart({ metrics: { dashboard: dashboard as never } })).toThrow(new Error(line));
});

test.each([
  [
    { 'app.kubernetes.io/name': 'build kit' },
    'RegistryCache: invalid clientLabels["app.kubernetes.io/name"] "build kit": use a Kubernetes label value, such as buildkit',
  ],
  [{ 'bad key!': 'x' }, 'RegistryCache: invalid clientLabels key "bad key!": use a Kubernetes label name, such as app.kubernetes.io/name'],
  [
    { [`${'a'.repeat(64)}`]: 'x' },
    `RegistryCache: invalid clientLabels key "${'a'.repeat(64)}": use a Kubernetes label name, such as app.kubernetes.io/name`,
  ],
])('RegistryCache clientLabels %j are refused with one line', (clientLabels, line) => {
  expect(() => new RegistryCache(Testing.chart(), 'c', { size: '10Gi', clientLabels })).toThrow(new Error(line));
  expect(
    () => new RegistryCache(Testing.chart(), 'c', { size: '10Gi', clientLabels: { [`${'a'.repeat(63)}`]: 'b'.repeat(63) } }),
  ).not.toThrow();
});

test('a RegistryCache whose clients are {} is refused: an empty selector would admit every pod', () => {
  expect(() => synthChart({ registryCache: { size: '20Gi' } })).not.toThrow();
  expect(() => new RegistryCache(Testing.chart(), 'c', { size: '10Gi', clientLabels: {} })).toThrow(
    new Error(
      "RegistryCache: invalid clientLabels {}: it would admit every pod in the namespace; give the daemons' labels, or leave it out to admit no one",
    ),
  );
});

test.each([
  [
    { fluxSourceRef: { kind: 'GitRepository' } },
    'gitops: invalid fluxSourceRef.name undefined: name the GitRepository, such as flux-system',
  ],
  [
    { fluxSourceRef: { kind: 'Secret', name: 'flux-system' } },
    'gitops: invalid fluxSourceRef.kind "Secret": use one of Flux\'s sources, GitRepository, OCIRepository, Bucket',
  ],
  [{ fluxSourceRef: 'flux-system' }, 'gitops: invalid fluxSourceRef "flux-system": use an object with kind, name'],
  [
    { fluxSourceRef: { kind: 'GitRepository', name: 'Flux_System' } },
    'gitops: invalid fluxSourceRef.name "Flux_System": use a DNS label: at most 63 lowercase letters, digits and "-", starting and ending with a letter or digit',
  ],
  [{ repoURL: 42 }, 'gitops: invalid repoURL 42: use a string in quotes'],
  [
    { repoURL: 'https://ci:glpat-TOKEN@git.example.com/platform/buildkit-service.git' },
    'gitops: invalid repoURL: it carries credentials (user:token@); give the URL without them and the credentials to Flux or Argo CD as a Secret',
  ],
  [{ targetRevision: 123 }, 'gitops: invalid targetRevision 123: use a string in quotes'],
  [{ targetRevision: '' }, 'gitops: invalid targetRevision "": use a branch, tag or commit, such as main, v1.2.0 or a commit hash'],
  [
    { targetRevision: '--upload-pack=touch /tmp/x' },
    'gitops: invalid targetRevision "--upload-pack=touch /tmp/x": use a branch, tag or commit, such as main, v1.2.0 or a commit hash',
  ],
  [
    { targetRevision: 'release/..' },
    'gitops: invalid targetRevision "release/..": use a branch, tag or commit, such as main, v1.2.0 or a commit hash',
  ],
])('gitops %j is refused with one line', (settings, line) => {
  expect(() => buildGitops(new App(), new Map([[undefined, new BuildkitChart(new App(), 'buildkit')]]), settings as never)).toThrow(
    new Error(line),
  );
});

describe('an unknown key is named with the one meant, or with the keys there are', () => {
  const shape = { port: 'number', name: 'string', resources: 'object' } as const;
  const refusal = (key: string) => {
    try {
      checkKnownKeys('Owner', { [key]: 1 } as never, shape as never);
    } catch (e) {
      return (e as Error).message;
    }
    return 'accepted';
  };

  test.each([
    ['pot', 'did you mean "port"?'], // one edit
    ['nmae', 'did you mean "name"?'], // two edits, the least allowed
    ['res', 'did you mean "resources"?'], // no close spelling, but the start of a key, three letters long
    ['re', 'the settings here are port, name, resources'], // two letters begin too many words to mean one
    ['prtxx', 'the settings here are port, name, resources'], // three edits from "port" (two without the last letter)
    ['RESOURCESX', 'did you mean "resources"?'], // case does not count
  ])('%s: %s', (key, said) => {
    expect(refusal(key)).toBe(`Owner: unknown setting "${key}": ${said}`);
  });

  test('known keys pass', () => {
    expect(refusal('port')).toBe('accepted');
  });
});
