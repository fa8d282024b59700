/** A source map with its sources named by absolute path (relative names are resolved against the script's directory and `sourceRoot`). */
export declare function withAbsoluteSources<Map extends { sources: string[]; sourceRoot?: string }>(
  scriptUrl: string,
  map: Map,
): Omit<Map, "sourceRoot">;

/** One raw V8 coverage file (as Node.js writes it under NODE_V8_COVERAGE). */
export interface RawCoverage {
  result: Array<{ url: string; [key: string]: unknown }>;
  "source-map-cache"?: Record<
    string,
    { data?: { sources?: string[]; sourceRoot?: string } | null; [key: string]: unknown }
  >;
}

/** The project's scripts of a raw V8 coverage file, with their source maps' sources named by absolute path. */
export declare function ourCoverage(raw: RawCoverage, root?: string): RawCoverage;

/** One file of an istanbul report. */
export interface FileCoverageData {
  fnMap: Record<string, { name: string; loc: Location }>;
  f: Record<string, number>;
  branchMap: Record<string, { locations: Location[] }>;
  b: Record<string, number[]>;
  [key: string]: unknown;
}
interface Location {
  start: { line: number; column: number };
  end: { line: number; column: number };
}

/** A file's coverage without the functions and branches on line 1 when that line declares no function. */
export declare function withoutWrappers(
  file: FileCoverageData,
  firstLine: string,
): FileCoverageData;

/** A file's coverage with each function located by its lines only, the functions that then share a location made one. */
export declare function withFunctionsByLines(file: FileCoverageData): FileCoverageData;
