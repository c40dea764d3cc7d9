// Settings of the job-receiver service, from EDGEFLEET_* variables (see the README's configuration table).
import { commonConfigShape, env, loadEnvConfig } from '@edgefleet/service-kit';
import { z } from 'zod';

export const SERVICE = 'job-receiver';
export const DEFAULT_PORT = 4100;

export const ConfigSchema = z.object({
  ...commonConfigShape,
  /** HTTP port (health, readiness, metrics and the job API). */
  port: env.port().default(DEFAULT_PORT),
});
export type Config = z.infer<typeof ConfigSchema>;

export const loadConfig = (source: Record<string, string | undefined> = process.env): Config =>
  loadEnvConfig(ConfigSchema, source);
