/** Route computation for cluster mode: pure functions of the RTT matrix and who needs what. See README.md. */
export { linkRtt, linkGraph, matrixChangedBeyond, nodesOf, type ChangeThresholds, type RttMatrix } from './rtt-matrix.ts';
export { COST_EPSILON, DEFAULT_HOP_COST_MS, pathTo, shortestPaths, type PathInfo, type ShortestPathOptions } from './shortest-paths.ts';
export { compareEdges, edgeKey, type Edge } from './edge.ts';
export { distributionTree, treeFromPaths, type DistributionTree } from './distribution-tree.ts';
export {
  NO_LAYER,
  diffPlans,
  makeBeforeBreak,
  planRoutes,
  type LayerChange,
  type LayerEdge,
  type PlanOptions,
  type RoutePlan,
  type TrackDemand,
  type TrackDiff,
  type TrackRoute,
} from './route-plan.ts';
export { chooseNode, type NodeCandidate, type NodeHint } from './node-choice.ts';
