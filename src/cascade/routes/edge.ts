/** A directed inter-node link a track crosses, and a string key for maps and sets of them. */
export interface Edge {
  readonly from: string;
  readonly to: string;
}

/**
 * `from>to`. Unambiguous because node ids are [A-Za-z0-9_-] (the control plane's NodeIdSchema): no id
 * contains '>'.
 */
export function edgeKey(from: string, to: string): string {
  return `${from}>${to}`;
}

/** Order for edge lists that must not depend on map iteration: by from, then to. */
export function compareEdges(a: Edge, b: Edge): number {
  if (a.from !== b.from) return a.from < b.from ? -1 : 1;
  if (a.to !== b.to) return a.to < b.to ? -1 : 1;
  return 0;
}
