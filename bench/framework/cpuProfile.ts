/**
 * Reads a `.cpuprofile` written by `node --cpu-prof` and says where the CPU went: self time per
 * function and per area (our src files, each @azure package, Node internals, GC).
 */
import { readFileSync } from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Self time of one function. */
export interface HotSpot {
  area: string;
  functionName: string;
  location: string;
  selfUs: number;
}

/** What one profile says. */
export interface ProfileSummary {
  /** Sampled time, excluding idle, microseconds. */
  busyUs: number;
  /** Self time per area, busiest first. */
  areas: { area: string; selfUs: number }[];
  /** Busiest functions first. */
  hotSpots: HotSpot[];
}

/**
 * Names the area a script belongs to.
 * @param url - the script URL of a call frame
 * @param functionName - its function name (for the VM's own pseudo-frames)
 * @returns e.g. `ours src/api/secretsOperations.js`, `@azure/core-rest-pipeline`, `node internals`
 */
export function areaOf(url: string, functionName: string): string {
  if (url === "") {
    if (functionName === "(garbage collector)") return "GC";
    if (functionName === "(idle)") return "idle";
    if (functionName === "(program)") return "(program)";
    return "native";
  }
  const ours = /\/out\/(src\/.*)$/.exec(url);
  if (ours) return `ours ${ours[1]}`;
  const bench = /\/out\/bench\/(.*)$/.exec(url);
  if (bench) return `harness ${bench[1]}`;
  const azure = /node_modules\/(@azure\/[^/]+)\//.exec(url);
  if (azure) return azure[1];
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (pkg) return pkg[1];
  if (url.startsWith("node:")) return "node internals";
  return "other";
}

/**
 * Summarises a profile file.
 * @param file - path of the `.cpuprofile`
 * @param top - how many hot spots to keep
 * @returns the summary
 */
export function summarizeProfile(file: string, top = 25): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfById = new Map<number, number>();
  // timeDeltas[i] is the time between sample i-1 and sample i: charged to sample i-1.
  for (let i = 0; i < profile.samples.length - 1; i++) {
    const id = profile.samples[i]!;
    selfById.set(id, (selfById.get(id) ?? 0) + Math.max(0, profile.timeDeltas[i + 1] ?? 0));
  }
  const byFunction = new Map<string, HotSpot>();
  const byArea = new Map<string, number>();
  let busyUs = 0;
  for (const [id, selfUs] of selfById) {
    const frame = byId.get(id)?.callFrame;
    if (frame === undefined) continue;
    const area = areaOf(frame.url, frame.functionName);
    if (area === "idle") continue;
    busyUs += selfUs;
    byArea.set(area, (byArea.get(area) ?? 0) + selfUs);
    const file = frame.url.replace(/^.*\/(out|node_modules)\//, "");
    const location = frame.url === "" ? "" : `${file}:${frame.lineNumber + 1}`;
    const key = `${frame.functionName}@${location}`;
    const spot = byFunction.get(key);
    if (spot === undefined) {
      byFunction.set(key, {
        area,
        functionName: frame.functionName || "(anonymous)",
        location,
        selfUs,
      });
    } else {
      spot.selfUs += selfUs;
    }
  }
  return {
    busyUs,
    areas: [...byArea]
      .map(([area, selfUs]) => ({ area, selfUs }))
      .sort((a, b) => b.selfUs - a.selfUs),
    hotSpots: [...byFunction.values()].sort((a, b) => b.selfUs - a.selfUs).slice(0, top),
  };
}
