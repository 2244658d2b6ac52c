/**
 * The Kubernetes manifests of deploy/kubernetes/: each document is valid against the Kubernetes API
 * schema (kubernetes-models), the Deployment is what the README promises (replicas, probes, non-root,
 * read-only root filesystem, the cache on an emptyDir, the recordings read-only), its shutdown
 * numbers fit its grace period, and every environment variable it sets is one the gateway reads.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { ConfigMap, PersistentVolume, PersistentVolumeClaim, Secret, Service } from 'kubernetes-models/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { environmentVariables } from '../../src/config.js';

const directory = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../../deploy/kubernetes');

/** The model of each kind the manifests hold, by apiVersion and kind. */
const models: Record<string, new (data: never) => { validate(): void }> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'v1/PersistentVolume': PersistentVolume,
  'v1/PersistentVolumeClaim': PersistentVolumeClaim,
  'apps/v1/Deployment': Deployment,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
};

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  [field: string]: unknown;
}

function manifests(): { file: string; manifest: Manifest }[] {
  const found: { file: string; manifest: Manifest }[] = [];
  for (const file of fs.readdirSync(directory).filter((name) => name.endsWith('.yaml')).sort()) {
    for (const document of parseAllDocuments(fs.readFileSync(path.join(directory, file), 'utf8'))) {
      assert.deepEqual(document.errors, [], `${file} parses`);
      found.push({ file, manifest: document.toJS() as Manifest });
    }
  }
  return found;
}

test('every manifest validates against the Kubernetes API schema', () => {
  const all = manifests();
  const kinds = all.map(({ manifest }) => `${manifest.apiVersion}/${manifest.kind}`);
  for (const needed of ['apps/v1/Deployment', 'v1/Service', 'policy/v1/PodDisruptionBudget', 'autoscaling/v2/HorizontalPodAutoscaler', 'v1/ConfigMap', 'v1/Secret']) {
    assert.ok(kinds.includes(needed), `a ${needed}`);
  }
  for (const { file, manifest } of all) {
    const Model = models[`${manifest.apiVersion}/${manifest.kind}`];
    assert.ok(Model, `${file}: ${manifest.apiVersion} ${manifest.kind} has a model here`);
    assert.doesNotThrow(() => new Model(manifest as never).validate(), `${file}: ${manifest.kind} ${manifest.metadata.name}`);
  }
});

test('the Deployment: three non-root replicas on a read-only root, probed on /livez and /readyz, the cache on an emptyDir, recordings read-only', () => {
  const deployment = manifests().find(({ manifest }) => manifest.kind === 'Deployment')!.manifest as unknown as Deployment;
  const spec = deployment.spec!;
  assert.equal(spec.replicas, 3);
  assert.equal(spec.strategy?.rollingUpdate?.maxUnavailable, 0, 'a rolling update never takes a serving replica away first');
  const pod = spec.template.spec!;
  const [container] = pod.containers;
  assert.equal(pod.securityContext?.runAsNonRoot, true);
  assert.equal(container!.securityContext?.readOnlyRootFilesystem, true);
  assert.equal(container!.securityContext?.allowPrivilegeEscalation, false);
  assert.equal(container!.livenessProbe?.httpGet?.path, '/livez');
  assert.equal(container!.readinessProbe?.httpGet?.path, '/readyz');
  assert.ok(container!.resources?.requests && container!.resources.limits);
  const mounts = new Map(container!.volumeMounts!.map((mount) => [mount.mountPath, mount]));
  const volumes = new Map(pod.volumes!.map((volume) => [volume.name, volume]));
  const config = manifests().find(({ manifest }) => manifest.kind === 'ConfigMap')!.manifest as unknown as ConfigMap;
  const cacheMount = mounts.get(config.data!.MEDIA_CACHE_DIR!);
  assert.ok(cacheMount && volumes.get(cacheMount.name)?.emptyDir, 'MEDIA_CACHE_DIR is an emptyDir');
  assert.ok(mounts.get(config.data!.GATEWAY_DATA_DIR!), 'GATEWAY_DATA_DIR is writable');
  const recordings = mounts.get('/recordings')!;
  assert.equal(recordings.readOnly, true);
  assert.equal(volumes.get(recordings.name)?.persistentVolumeClaim?.readOnly, true);
  assert.match(config.data!.RECORDINGS_PATH_MAP!, /=\/recordings$/, 'the path map points at the mounted share');
  // The shutdown the gateway makes fits the time Kubernetes gives it.
  const seconds = (Number(config.data!.SHUTDOWN_DELAY_MS) + Number(config.data!.SHUTDOWN_TIMEOUT_MS)) / 1000;
  assert.ok(pod.terminationGracePeriodSeconds! > seconds, `grace ${pod.terminationGracePeriodSeconds} s > ${seconds} s`);
  const pdb = manifests().find(({ manifest }) => manifest.kind === 'PodDisruptionBudget')!.manifest as unknown as PodDisruptionBudget;
  assert.ok(Number(pdb.spec!.minAvailable) < spec.replicas!);
});

test('every environment variable the manifests set is one the gateway reads', () => {
  const known = new Set(environmentVariables);
  const set: string[] = [];
  for (const { manifest } of manifests()) {
    if (manifest.kind === 'ConfigMap') set.push(...Object.keys((manifest as unknown as ConfigMap).data ?? {}));
    if (manifest.kind === 'Deployment') {
      for (const container of (manifest as unknown as Deployment).spec!.template.spec!.containers) set.push(...(container.env ?? []).map((e) => e.name));
    }
    if (manifest.kind === 'Secret') set.push(...Object.keys((manifest as unknown as Secret).stringData ?? {}).filter((key) => /^[A-Z0-9_]+$/.test(key)));
  }
  assert.ok(set.length > 10);
  assert.deepEqual(set.filter((name) => !known.has(name)), []);
});

test('docker/compose.yaml: two replicas behind haproxy checking /readyz, sharing Redis and the signing key, set only what the gateway reads', () => {
  const compose = parseAllDocuments(fs.readFileSync(path.join(directory, '../../docker/compose.yaml'), 'utf8'), { merge: true })[0]!.toJS() as {
    services: Record<string, { environment?: Record<string, string> }>;
  };
  const replicas = Object.entries(compose.services).filter(([, service]) => service.environment?.CORE_HOST !== undefined);
  assert.equal(replicas.length, 2);
  const known = new Set(environmentVariables);
  for (const [name, service] of replicas) {
    assert.deepEqual(Object.keys(service.environment!).filter((variable) => !known.has(variable)), [], name);
    assert.match(service.environment!.REDIS_URL!, /^redis:\/\/redis:6379/, `${name} shares Redis`);
    assert.ok(service.environment!.LINK_SIGNING_KEY, `${name} shares the signing key`);
  }
  const haproxy = fs.readFileSync(path.join(directory, '../../docker/haproxy.cfg'), 'utf8');
  assert.match(haproxy, /option httpchk GET \/readyz/);
  for (const [name] of replicas) assert.match(haproxy, new RegExp(`server ${name} ${name}:2012 check`));
});
