// Types of check-bundles.mjs (plain JavaScript so that it runs with bare node, without a build).
export declare const ROOT: string;
export declare const SERVICES: Record<string, { port: number }>;
export interface RedisChild {
  port: number;
  password: string;
  url: string;
  stop(): Promise<void>;
}
export interface BundleReport {
  service: string;
  files: number;
  bytes: number;
  /** EDGEFLEET_* variables the bundle's config reads. */
  variables: string[];
  defaultPort: number;
  healthMs: number;
  readyz: number;
  stopCode: number | string;
  seconds: number;
  output: string;
}
export declare function run(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: Record<string, string>; timeoutMs: number },
): Promise<{ code: number | string; output: string }>;
export declare function freePort(): Promise<number>;
export declare function startRedis(dir: string): Promise<RedisChild>;
export declare function bundleSettings(
  app: string,
): Promise<{ service: string; defaultPort: number; variables: string[] }>;
export declare function deployBundle(service: string, workDir: string, arch?: string): Promise<string>;
export declare function checkBundle(
  service: string,
  opts: { redis: { url: string; password: string }; keep?: boolean },
): Promise<BundleReport>;
