// The package's API: the factory and its config, for whatever runs the service in-process.
export { type Config, loadConfig, SERVICE } from './config.js';
export {
  createUploader,
  type UploaderDeps,
  type UploaderHandle,
  type UploaderInternals,
} from './uploader.js';
