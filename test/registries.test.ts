import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dump, load } from 'js-yaml';
import { parse } from 'smol-toml';
import type { BuildkitChartProps } from '../lib';
import { registryCacheConfig } from '../lib/registry-cache';
import { daemonContainer, find, synthChart } from './support/chart';
import { describeWith } from './support/programs';

const KNOWN_REGISTRY_KEYS = new Set<string>(require('./fixtures/buildkit/config-keys-v0.32.2.json').registry);
const toml = (objects: any[], name = 'buildkitd-config') => parse(find(objects, 'ConfigMap', name).data['buildkitd.toml']) as any;
const CA = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

describe('registry settings, rendered as BuildKit reads them', () => {
  const objects = synthChart({
    registries: {
      'docker.io': { mirrors: ['mirror.lan:5000'] },
      'mirror.lan:5000': { http: true },
      'registry.corp.example': { ca: ['corp-ca.pem'], keypairs: [{ key: 'client.key', cert: 'client.pem' }] },
      'dev.lan': { insecure: true },
    },
    registryCaCertificates: { 'corp-ca.pem': CA },
    registryKeypairSecret: 'registry-client',
  });

  test('[registry."HOST"] tables with mirrors, http, insecure, ca and keypairs, only keys BuildKit knows, with its types', () => {
    const registry = toml(objects).registry;
    expect(registry).toEqual({
      'docker.io': { mirrors: ['mirror.lan:5000'] },
      'mirror.lan:5000': { http: true },
      'registry.corp.example': {
        ca: ['/etc/buildkit-registry/ca/corp-ca.pem'],
        keypair: [{ key: '/etc/buildkit-registry/keys/client.key', cert: '/etc/buildkit-registry/keys/client.pem' }],
      },
      'dev.lan': { insecure: true },
    });
    const keys = Object.values<any>(registry).flatMap((r) => [...Object.keys(r), ...(r.keypair ?? []).flatMap(Object.keys)]);
    expect(keys.filter((k) => !KNOWN_REGISTRY_KEYS.has(k))).toEqual([]);
    expect(find(objects, 'ConfigMap', 'buildkitd-config').data['buildkitd.toml']).toContain('[[registry."registry.corp.example".keypair]]');
  });

  test('the CA ConfigMap and the keypair Secret are mounted read-only where the paths point; a CA change rolls the daemons', () => {
    const container = daemonContainer(objects);
    expect(container.volumeMounts).toEqual(
      expect.arrayContaining([
        { name: 'registry-ca', mountPath: '/etc/buildkit-registry/ca', readOnly: true },
        { name: 'registry-keys', mountPath: '/etc/buildkit-registry/keys', readOnly: true },
      ]),
    );
    const volumes = find(objects, 'Deployment', 'buildkitd').spec.template.spec.volumes;
    expect(volumes).toEqual(
      expect.arrayContaining([
        { name: 'registry-ca', configMap: { name: 'buildkitd-registry-ca' } },
        { name: 'registry-keys', secret: { secretName: 'registry-client', defaultMode: 0o440 } },
      ]),
    );
    expect(find(objects, 'ConfigMap', 'buildkitd-registry-ca').data).toEqual({ 'corp-ca.pem': CA });
    const checksum = (ca: string) =>
      find(synthChart({ registries: { 'r.lan': { ca: ['a.pem'] } }, registryCaCertificates: { 'a.pem': ca } }), 'Deployment', 'buildkitd')
        .spec.template.metadata.annotations['checksum/config'];
    expect(checksum(CA)).not.toBe(checksum(CA.replace('MIIB', 'MIIC')));
  });

  test('dist/ is unchanged unless the feature is used', () => {
    expect(synthChart({ registries: {} })).toEqual(synthChart({}));
    expect(toml(synthChart({})).registry).toBeUndefined();
  });
});

describe('bad registry settings, one line each', () => {
  test.each([
    [
      'an unknown registry key',
      { registries: { 'docker.io': { mirror: ['m.lan'] } } },
      /^BuildkitDaemon: unknown setting "registries\["docker\.io"\]\.mirror": did you mean "registries\["docker\.io"\]\.mirrors"\?$/,
    ],
    [
      'a mirror with a scheme',
      { registries: { 'docker.io': { mirrors: ['https://m.lan'] } } },
      /^BuildkitDaemon: invalid registries\["docker\.io"\]\.mirrors entry "https:\/\/m\.lan": not a host\[:port\]; use host\[:port\], such as mirror\.lan:5000 \(no scheme, no path\)$/,
    ],
    [
      'a host that is no host',
      { registries: { 'Docker Hub': { http: true } } },
      /^BuildkitDaemon: invalid registries\["Docker Hub"\]: not a host\[:port\]; the key must be a registry host\[:port\]/,
    ],
    [
      'a registry port past 65535',
      { registries: { 'registry.lan:65536': { http: true } } },
      /^BuildkitDaemon: invalid registries\["registry\.lan:65536"\]: port 65536 is not from 1 to 65535; the key must be a registry host\[:port\], such as docker\.io or registry\.lan:5000$/,
    ],
    [
      'a registry on port 0 (the egress policy had named an allow entry no one wrote)',
      { registries: { '10.0.0.5:0': { http: true } } },
      /^BuildkitDaemon: invalid registries\["10\.0\.0\.5:0"\]: port 0 is not from 1 to 65535; /,
    ],
    [
      'a mirror port past 65535',
      { registries: { 'docker.io': { mirrors: ['10.0.0.5:70000'] } } },
      /^BuildkitDaemon: invalid registries\["docker\.io"\]\.mirrors entry "10\.0\.0\.5:70000": port 70000 is not from 1 to 65535; use host\[:port\], such as mirror\.lan:5000 \(no scheme, no path\)$/,
    ],
    [
      'a dotted number that is no IPv4 address',
      { registries: { '10.0.0.256:5000': { http: true } } },
      /^BuildkitDaemon: invalid registries\["10\.0\.0\.256:5000"\]: 10\.0\.0\.256 is neither an IPv4 address nor a host name; /,
    ],
    [
      'a name whose last label is all digits',
      { registries: { 'registry.lan.99': { http: true } } },
      /^BuildkitDaemon: invalid registries\["registry\.lan\.99"\]: registry\.lan\.99 is neither an IPv4 address nor a host name; /,
    ],
    [
      'a mirror that is a dotted number',
      { registries: { 'docker.io': { mirrors: ['10.0.5'] } } },
      /^BuildkitDaemon: invalid registries\["docker\.io"\]\.mirrors entry "10\.0\.5": 10\.0\.5 is neither an IPv4 address nor a host name; /,
    ],
    [
      'a CA file nothing provides',
      { registries: { 'r.lan': { ca: ['corp.pem'] } } },
      /^BuildkitDaemon: invalid registries\["r\.lan"\]\.ca entry "corp\.pem": no such file in registryCaCertificates; add its PEM there under that name$/,
    ],
    [
      'keypairs without their Secret',
      { registries: { 'r.lan': { keypairs: [{ key: 'k', cert: 'c' }] } } },
      /^BuildkitDaemon: invalid registries\["r\.lan"\]\.keypairs: no registryKeypairSecret provides the files/,
    ],
    [
      'a registry host of 257 characters, past the 253 of a DNS name',
      { registries: { [`${`${'a'.repeat(63)}.`.repeat(4)}a`]: { http: true } } },
      /^BuildkitDaemon: invalid registries\["a{63}\.a{63}\.a{63}\.a{63}\.a"\]: not a host\[:port\]; the key must be a registry host\[:port\]/,
    ],
    [
      'a keypair Secret that is no DNS name',
      { registryKeypairSecret: 'Keys_X', registries: { 'r.lan': { keypairs: [{ key: 'k', cert: 'c' }] } } },
      /^BuildkitDaemon: invalid registryKeypairSecret "Keys_X": use a DNS name/,
    ],
    [
      'a blank keypair Secret, which would leave the keypairs without their files',
      { registryKeypairSecret: '', registries: { 'r.lan': { keypairs: [{ key: 'k', cert: 'c' }] } } },
      /^BuildkitDaemon: invalid registryKeypairSecret "": use a DNS name/,
    ],
    ['a blank keypair Secret alone', { registryKeypairSecret: '' }, /^BuildkitDaemon: invalid registryKeypairSecret "": use a DNS name/],
    [
      'a pull-through cache without a size',
      { registryCache: {} as any },
      /^RegistryCache: invalid size undefined: a cache needs a bound; set size, such as 50Gi$/,
    ],
    [
      'a pull-through cache of an upstream that is no URL',
      { registryCache: { size: '20Gi', upstream: 'docker hub' } },
      /^RegistryCache: invalid upstream "docker hub": use the registry's URL/,
    ],
    [
      'an unknown pull-through cache key',
      { registryCache: { size: '20Gi', sise: '1' } as any },
      /^BuildkitChart: unknown setting "registryCache\.sise": did you mean "registryCache\.size"\?$/,
    ],
  ] as Array<[string, BuildkitChartProps, RegExp]>)('%s', (_name, props, message) => {
    expect(() => synthChart(props)).toThrow(message);
  });

  test('the construct on its own names its own key', () => {
    const { Testing } = require('cdk8s');
    const { RegistryCache } = require('../lib');
    expect(() => new RegistryCache(Testing.chart(), 'r', { size: '20Gi', sise: '1' })).toThrow(
      /^RegistryCache: unknown setting "sise": did you mean "size"\?$/,
    );
  });
});

test('a registry host of 253 characters, a DNS name at its limit, is taken', () => {
  const host = `${`${'a'.repeat(63)}.`.repeat(3)}${'a'.repeat(61)}`;
  expect(host).toHaveLength(253);
  expect(toml(synthChart({ registries: { [host]: { http: true } } }), 'buildkitd-config').registry[host]).toEqual({ http: true });
});

test('ports at both ends of the range, IPv4 addresses, and names with digits at either end of a label are taken', () => {
  const registries = {
    'registry.lan:1': { http: true },
    '10.0.0.5:65535': { http: true },
    r2d2: { mirrors: ['mirror-1.lan:5000', '192.168.1.9'] },
    'registry.3com': { http: true },
  };
  expect(Object.keys(toml(synthChart({ registries }), 'buildkitd-config').registry)).toEqual(Object.keys(registries));
});

describe('the pull-through cache', () => {
  const objects = synthChart({
    registryCache: { size: '50Gi', credentialsSecret: 'dockerhub' },
    architecture: 'amd64',
    nativeBuilders: [{ architecture: 'arm64', loadBalancerIP: '10.0.0.9' }],
  });
  const deployment = find(objects, 'Deployment', 'buildkit-registry-cache');
  const container = deployment.spec.template.spec.containers[0];
  const MIRROR = 'buildkit-registry-cache.buildkit.svc.cluster.local:5000';

  test('every daemon lists it as the docker.io mirror, over plain HTTP inside the cluster', () => {
    for (const config of ['buildkitd-config', 'buildkitd-arm64-config']) {
      expect(toml(objects, config).registry).toEqual({ 'docker.io': { mirrors: [MIRROR] }, [MIRROR]: { http: true } });
    }
  });

  test("docker.io's own mirrors follow the cache, which is listed once; other registries keep their settings and order", () => {
    const registries = {
      'registry.lan': { http: true },
      'docker.io': { mirrors: ['mirror.lan:5000', MIRROR, 'other.lan'] },
      [MIRROR]: { insecure: true },
    };
    const configured = toml(synthChart({ registries, registryCache: { size: '50Gi' } }), 'buildkitd-config').registry;
    expect(configured).toEqual({
      'registry.lan': { http: true },
      'docker.io': { mirrors: [MIRROR, 'mirror.lan:5000', 'other.lan'] },
      [MIRROR]: { insecure: true, http: true },
    });
    expect(Object.keys(configured)).toEqual(['registry.lan', 'docker.io', MIRROR]);
    const { withCacheMirror } = require('../lib/registry-cache');
    expect(withCacheMirror(registries)).toEqual(registries);
    expect(withCacheMirror(registries)).not.toBe(registries);
  });

  test('a pinned Distribution registry, non-root, with probes, resources and a bounded emptyDir', () => {
    expect(container.image).toBe('registry:2.8.3@sha256:a3d8aaa63ed8681a604f1dea0aa03f100d5895b6a58ace528858a7b332415373');
    expect(deployment.spec.template.spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
    expect(container.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(container.readinessProbe.httpGet).toEqual({ path: '/v2/', port: 'registry' });
    expect(container.resources.limits.memory).toBe('512Mi');
    expect(deployment.spec.template.spec.volumes).toContainEqual({ name: 'storage', emptyDir: { sizeLimit: '50Gi' } });
    expect(find(objects, 'Service', 'buildkit-registry-cache').spec).toMatchObject({ type: 'ClusterIP', ports: [{ port: 5000 }] });
  });

  test('upstream credentials come from the Secret by name: nothing of them in dist/', () => {
    expect(container.env).toEqual([
      { name: 'REGISTRY_PROXY_USERNAME', valueFrom: { secretKeyRef: { name: 'dockerhub', key: 'username' } } },
      { name: 'REGISTRY_PROXY_PASSWORD', valueFrom: { secretKeyRef: { name: 'dockerhub', key: 'password' } } },
    ]);
    expect(objects.filter((m) => m.kind === 'Secret')).toEqual([]);
  });

  test('only the daemons reach it', () => {
    expect(find(objects, 'NetworkPolicy', 'buildkit-registry-cache').spec).toEqual({
      podSelector: {
        matchLabels: {
          'app.kubernetes.io/name': 'registry',
          'app.kubernetes.io/instance': 'buildkit-registry-cache',
          'app.kubernetes.io/component': 'pull-through-cache',
        },
      },
      policyTypes: ['Ingress'],
      ingress: [
        { from: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'buildkit' } } }], ports: [{ port: 5000, protocol: 'TCP' }] },
      ],
    });
  });

  test('persistent: a Longhorn claim, and Recreate so one pod writes it', () => {
    const persistent = synthChart({ registryCache: { size: '100Gi', persistent: true } });
    expect(find(persistent, 'PersistentVolumeClaim', 'buildkit-registry-cache-storage').spec).toMatchObject({
      storageClassName: 'longhorn',
      resources: { requests: { storage: '100Gi' } },
    });
    expect(find(persistent, 'Deployment', 'buildkit-registry-cache').spec.strategy).toEqual({ type: 'Recreate' });
  });
});

describeWith(['docker-registry'])('the real Distribution registry runs the synthesized config (on 127.0.0.1 only)', () => {
  const work = mkdtempSync(join(tmpdir(), 'buildkit-registry-'));
  const running: ChildProcess[] = [];
  afterAll(() => {
    for (const p of running) p.kill();
    rmSync(work, { recursive: true, force: true });
  });

  const status = (port: number, path: string) =>
    new Promise<number>((resolve) => {
      get({ host: '127.0.0.1', port, path, timeout: 2000 }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      }).on('error', () => resolve(0));
    });
  function serve(name: string, config: string): { process: ChildProcess; log: () => string } {
    const file = join(work, `${name}.yml`);
    writeFileSync(file, config);
    let log = '';
    const process = spawn('docker-registry', ['serve', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    process.stdout!.on('data', (d) => {
      log += d;
    });
    process.stderr!.on('data', (d) => {
      log += d;
    });
    running.push(process);
    return { process, log: () => log };
  }
  /** The port a registry given 127.0.0.1:0 bound, from its log: a port picked beforehand could be taken meanwhile. */
  async function portOf(registry: { log: () => string }): Promise<number> {
    let port = 0;
    await until(async () => {
      port = Number(/listening on 127\.0\.0\.1:(\d+)/.exec(registry.log())?.[1] ?? 0);
      return port > 0;
    });
    return port;
  }
  /** Polls until the registry answers: it starts in well under a second when idle, far slower on a busy machine. */
  async function until(check: () => Promise<boolean>, limitMs = 60_000) {
    for (const deadline = Date.now() + limitMs; Date.now() < deadline; ) {
      if (await check()) return true;
      await new Promise((r) => setTimeout(r, 100));
    }
    return false;
  }

  /** A plain registry on loopback for a cache to pull through, answering once it is up. */
  async function upstreamRegistry(name: string) {
    const upstream = serve(
      name,
      `version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: ${join(work, name)}\nhttp:\n  addr: 127.0.0.1:0\n`,
    );
    const upstreamPort = await portOf(upstream);
    expect(await until(async () => (await status(upstreamPort, '/v2/')) === 200)).toBe(true);
    return { upstream, upstreamPort };
  }

  test('as a pull-through cache of a second registry on loopback: /v2/ answers 200 and requests reach the upstream', async () => {
    // Distribution dials remoteurl at startup: the upstream is a second registry, on loopback.
    const { upstream, upstreamPort } = await upstreamRegistry('upstream');
    const cache = serve('cache', registryCacheConfig(`http://127.0.0.1:${upstreamPort}`, join(work, 'cache'), '127.0.0.1:0'));
    const cachePort = await portOf(cache);
    expect(await until(async () => (await status(cachePort, '/v2/')) === 200)).toBe(true);
    expect(cache.log()).toContain(`Registry configured as a proxy cache to http://127.0.0.1:${upstreamPort}`);
    expect(await status(cachePort, '/v2/library/alpine/tags/list')).toBe(404);
    // The upstream logs a request after answering it, so its line can reach us after the cache's 404 does.
    expect(await until(async () => /GET \/v2\/library\/alpine\/tags\/list/.test(upstream.log()))).toBe(true);
  });

  test('a blob removed under a link that stays, as the 7-day expiry leaves a shared one, comes from the upstream again: never a 200 without a body', async () => {
    const { upstreamPort } = await upstreamRegistry('blob-upstream');
    const blob = randomBytes(100_000);
    const hex = createHash('sha256').update(blob).digest('hex');
    const started = await fetch(`http://127.0.0.1:${upstreamPort}/v2/library/demo/blobs/uploads/`, { method: 'POST' });
    const upload = new URL(started.headers.get('location')!, `http://127.0.0.1:${upstreamPort}`);
    upload.searchParams.set('digest', `sha256:${hex}`);
    expect((await fetch(upload, { method: 'PUT', body: blob })).status).toBe(201);

    /**
     * Three pulls of the blob through a cache on the chart's config (with the descriptor cache it leaves out, for
     * the control): the first fills it, the second is served from disk, the third after the blob's removal.
     */
    async function pullsThrough(name: string, descriptorCache: boolean) {
      const root = join(work, name);
      const config = load(registryCacheConfig(`http://127.0.0.1:${upstreamPort}`, root, '127.0.0.1:0')) as any;
      if (descriptorCache) config.storage.cache = { blobdescriptor: 'inmemory' };
      const cache = serve(name, dump(config));
      const port = await portOf(cache);
      expect(await until(async () => (await status(port, '/v2/')) === 200)).toBe(true);
      const pull = async () => {
        const response = await fetch(`http://127.0.0.1:${port}/v2/library/demo/blobs/sha256:${hex}`);
        // A body cut short (the registry claims the length, then sends nothing) rejects here.
        const body = await response.arrayBuffer().then(Buffer.from, () => undefined);
        return { status: response.status, whole: body?.equals(blob) ?? false };
      };
      const pulls = [await pull()];
      const stored = join(root, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex);
      expect(await until(async () => existsSync(join(stored, 'data')))).toBe(true);
      pulls.push(await pull());
      // What the expiry's vacuum removes: the blob's data, while another repository's link to it stays.
      rmSync(stored, { recursive: true });
      pulls.push(await pull());
      return pulls;
    }
    const whole = { status: 200, whole: true };
    expect(await pullsThrough('blob-cache', false)).toEqual([whole, whole, whole]);
    // Control: with a descriptor cache the registry answers 200 and sends no body.
    expect(await pullsThrough('blob-cache-described', true)).toEqual([whole, whole, { status: 200, whole: false }]);
  });

  test('an upstream the chart refuses is refused by the registry too: it dies at startup', async () => {
    expect(() => synthChart({ registryCache: { size: '20Gi', upstream: 'not a url' } })).toThrow(/invalid upstream "not a url"/);
    const bad = serve('bad', registryCacheConfig('not a url', join(work, 'bad'), '127.0.0.1:0'));
    // 'close', not 'exit': only then has all of its output arrived.
    const code = await new Promise<number | null>((resolve) => bad.process.on('close', resolve));
    expect(code).not.toBe(0);
    expect(bad.log()).toMatch(/unsupported protocol scheme/);
  });
});

test('a RegistryCache used on its own, without clients, admits no one (an empty from list would admit everyone)', () => {
  const { Testing } = require('cdk8s');
  const { RegistryCache } = require('../lib');
  const chart = Testing.chart();
  new RegistryCache(chart, 'c', { size: '10Gi' });
  const policy = Testing.synth(chart).find((m: any) => m.kind === 'NetworkPolicy');
  expect(policy.spec.ingress).toEqual([]);
});
