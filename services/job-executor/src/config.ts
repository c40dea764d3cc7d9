// Settings of the job-executor service, from EDGEFLEET_* variables (see the README's configuration table).
import { commonConfigShape, env, loadEnvConfig } from '@edgefleet/service-kit';
import { z } from 'zod';

export const SERVICE = 'job-executor';
export const DEFAULT_PORT = 4101;

export const ConfigSchema = z.object({
  ...commonConfigShape,
  /** HTTP port (health, readiness, metricsjob-executor). */
  port: env.port().default(DEFAULT_PORT),
});
export type Config = z.infer<typeof ConfigSchema>;

export const loadConfig = (source: Record<string, string | undefined> = process.env): Config =>
  loadEnvConfig(ConfigSchema, source);
