import type { Scenario } from './scenario.ts';
import { pair } from './pair.ts';
import { fanout } from './fanout.ts';
import { mingle } from './mingle.ts';
import { townhall } from './townhall.ts';
import { walkers } from './walkers.ts';

export const SCENARIOS: Readonly<Record<string, Scenario>> = { pair, fanout, mingle, townhall, walkers };
export type { Scenario, ScenarioContext } from './scenario.ts';
