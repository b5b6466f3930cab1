import type { IConstruct } from 'constructs';

/** Every construct of a type in the tree under root, in tree order: how consumers read the app (style rule 8). */
export function constructsOf<T>(root: IConstruct, type: abstract new (...args: never[]) => T): Array<T & IConstruct> {
  return root.node.findAll().filter((c): c is T & IConstruct => c instanceof type);
}
