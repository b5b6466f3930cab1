import { join } from 'path';
import { App, Chart } from 'cdk8s';
import { config } from '../config';
import { ArgoCdApplication, BuildkitChart, FluxKustomizations, runSynth } from '../lib';

/**
 * The delivery objects, kept out of dist/ so that dist/ stays a plain folder of the service's manifests:
 * gitops/dist/flux.k8s.yaml (apply it once, or from the Kustomization that bootstraps your cluster) and
 * gitops/dist/argocd.k8s.yaml (an example for Argo CD users; set your repository URL).
 */
const service = new BuildkitChart(new App(), 'service', config);
const workload = { kind: service.daemon.workloadKind === 'statefulset' ? 'StatefulSet' as const : 'Deployment' as const, name: service.daemon.name };

runSynth(join(__dirname, 'dist'), (app) => {
  new FluxKustomizations(new Chart(app, 'flux'), 'Buildkit', { namespace: service.endpoint.namespace, workload });
  new ArgoCdApplication(new Chart(app, 'argocd'), 'Buildkit', {
    repoURL: 'https://git.example.com/platform/buildkit-service.git',
    namespace: service.endpoint.namespace,
  });
});
