/** Every scenario, in the order a run takes them. */
import { coldStartScenario } from "./client/coldStart.js";
import { layersScenario } from "./client/layers.js";
import { microScenario } from "./client/micro.js";
import { operationScenarios } from "./client/operations.js";
import { profileScenario } from "./client/profile.js";
import type { Scenario } from "./scenario.js";
import { secretCacheLoadScenario } from "./secretCache/load.js";
import { cacheRefreshScenario } from "./secretCache/refresh.js";
import { vaultStartupScenario } from "./vault/startup.js";

export const scenarios: readonly Scenario[] = [
  ...operationScenarios,
  coldStartScenario,
  secretCacheLoadScenario,
  cacheRefreshScenario,
  vaultStartupScenario,
  layersScenario,
  microScenario,
  profileScenario,
];
