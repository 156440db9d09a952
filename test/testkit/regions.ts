/**
 * RTT matrices for cluster tests. FIVE_REGIONS: RTTs between 60 and 250 ms shaped like real regions, with
 * three detours that beat a direct link: eu-west → us-west via us-east (90 + 90 < 250), eu-west →
 * ap-northeast via ap-south (120 + 60 < 250), ap-south → us-west via ap-northeast (60 + 120 < 250).
 * Every best path beats every other by at least 30 ms one way (cluster-routes.test.ts checks), so the
 * proxies' timer noise on a loaded machine cannot flip a route.
 */
import type { RttSpec } from './cluster.ts';

export const FIVE_REGIONS = ['us-east', 'us-west', 'eu-west', 'ap-south', 'ap-northeast'];
export const FIVE_REGION_RTT: RttSpec = {
  'us-east|us-west': 90,
  'us-east|eu-west': 90,
  'us-east|ap-south': 150,
  'us-east|ap-northeast': 150,
  'us-west|eu-west': 250,
  'us-west|ap-south': 250,
  'us-west|ap-northeast': 120,
  'eu-west|ap-south': 120,
  'eu-west|ap-northeast': 250,
  'ap-south|ap-northeast': 60,
};

/** Three nodes of one region with n2 in the middle: n1–n3 direct is slower than through n2. */
export const MIDDLE_OF_THREE = {
  nodes: [
    { id: 'n1', region: 'eu' },
    { id: 'n2', region: 'eu' },
    { id: 'n3', region: 'eu' },
  ],
  rtt: { 'n1|n2': 40, 'n2|n3': 40, 'n1|n3': 120 } as RttSpec,
};
