import type { Toleration } from '../../imports/k8s';
import type { PropsShape } from '../props-shape';
import { checkBoundedInteger, checkLabelName, checkLabelValue } from '../validation';

/** A taint the pods tolerate, as Kubernetes' Toleration: dedicated nodes are tainted so that nothing else lands there. */
export interface TolerationSettings {
  /**
   * The taint's key.
   * @default - every key, which needs operator 'Exists'
   */
  readonly key?: string;
  /**
   * 'Equal' matches `value`; 'Exists' any value.
   * @default 'Equal'
   */
  readonly operator?: 'Equal' | 'Exists';
  /**
   * The taint's value, with operator 'Equal'.
   * @default ''
   */
  readonly value?: string;
  /**
   * The taint's effect: 'NoSchedule', 'PreferNoSchedule' or 'NoExecute'.
   * @default - every effect
   */
  readonly effect?: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
  /**
   * With effect 'NoExecute': how long a running pod stays once the taint appears, in seconds.
   * @default - for ever
   */
  readonly tolerationSeconds?: number;
}

/** Which nodes the pods run on, for teams whose builds must not share a node with others'. */
export interface SchedulingSettings {
  /**
   * Labels a node must carry (the pod's `nodeSelector`), such as `{ 'example.com/pool': 'team-a' }`. The
   * architecture is set with `architecture`, not here.
   * @default - any node
   */
  readonly nodeSelector?: Readonly<Record<string, string>>;
  /**
   * Taints the pods tolerate, so that they can run on nodes tainted for them.
   * @default - none
   */
  readonly tolerations?: readonly TolerationSettings[];
}

export const SCHEDULING_SHAPE: PropsShape<SchedulingSettings> = {
  nodeSelector: 'record',
  tolerations: [{ key: 'string', operator: 'string', value: 'string', effect: 'string', tolerationSeconds: 'number' }],
};

const ARCH_LABEL = 'kubernetes.io/arch';
const OPERATORS = ['Equal', 'Exists'];
const EFFECTS = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'];
/** A day: past that, a NoExecute toleration with a time is one for ever. */
const MAX_TOLERATION_SECONDS = 86_400;

function checkToleration(owner: string, where: string, t: TolerationSettings): Toleration {
  const invalid = (why: string) => new Error(`${owner}: invalid ${where} ${JSON.stringify(t)}: ${why}`);
  if (t.operator !== undefined && !OPERATORS.includes(t.operator)) throw invalid("operator is 'Equal' or 'Exists'");
  if (t.effect !== undefined && !EFFECTS.includes(t.effect)) throw invalid("effect is 'NoSchedule', 'PreferNoSchedule' or 'NoExecute'");
  if (t.key === undefined) {
    if (t.operator !== 'Exists') throw invalid("a toleration without a key tolerates every taint: give a key, or set operator 'Exists'");
  } else checkLabelName(owner, `${where}.key`, t.key, 'example.com/dedicated');
  if (t.value !== undefined) {
    if (t.operator === 'Exists') throw invalid("operator 'Exists' matches any value: leave value out");
    checkLabelValue(owner, `${where}.value`, t.value, 'builds');
  }
  if (t.tolerationSeconds !== undefined) {
    if (t.effect !== 'NoExecute') throw invalid("tolerationSeconds applies only to effect 'NoExecute'");
    checkBoundedInteger(owner, `${where}.tolerationSeconds`, t.tolerationSeconds, MAX_TOLERATION_SECONDS, 'leave it out to stay for ever');
  }
  // Kubernetes' defaults left out: one toleration, one rendering.
  const { operator, value, ...rest } = t;
  return { ...rest, ...(operator === 'Exists' ? { operator } : {}), ...(value ? { value } : {}) };
}

/** The pod spec's scheduling fields. */
export interface PodScheduling {
  readonly nodeSelector?: Record<string, string>;
  readonly tolerations?: Toleration[];
}

/**
 * The pod spec's `nodeSelector` and `tolerations`, checked: the architecture pin joins the given selector,
 * which may not pin another one.
 */
export function podScheduling(owner: string, scheduling: SchedulingSettings | undefined, architecture?: string): PodScheduling {
  const selector = { ...scheduling?.nodeSelector };
  for (const [key, value] of Object.entries(selector)) {
    checkLabelName(owner, 'scheduling.nodeSelector key', key, 'example.com/pool');
    checkLabelValue(owner, `scheduling.nodeSelector["${key}"]`, value, 'builds');
  }
  if (ARCH_LABEL in selector) {
    throw new Error(
      `${owner}: invalid scheduling.nodeSelector["${ARCH_LABEL}"] ${JSON.stringify(selector[ARCH_LABEL])}: ` +
        'set the architecture with the architecture setting (and nativeBuilders), not the node selector',
    );
  }
  if (architecture) selector[ARCH_LABEL] = architecture;
  const tolerations = (scheduling?.tolerations ?? []).map((t, i) => checkToleration(owner, `scheduling.tolerations[${i}]`, t));
  return {
    nodeSelector: Object.keys(selector).length ? selector : undefined,
    tolerations: tolerations.length ? tolerations : undefined,
  };
}
