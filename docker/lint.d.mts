// Types of lint.mjs (plain JavaScript so that it runs with bare node, without a build).
export declare const RUNTIME_TARGETS: string[];
/** Problems of one Dockerfile, as `file:line: message` strings (empty when clean). */
export declare function lintDockerfile(file: string): string[];
