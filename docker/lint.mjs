#!/usr/bin/env node
// Lints the Dockerfiles of docker/ without a Docker engine: the syntax and instruction checks of
// `dockerfile-utils` (the language server's validator, every check raised to an error), plus this
// project's image rules, which a generic linter cannot know:
//   - the build stage runs on the builder's platform (`FROM --platform=$BUILDPLATFORM`), so an arm64
//     image never compiles under emulation;
//   - every runtime target (service, job-executor) drops root with USER, has a HEALTHCHECK and an
//     exec-form ENTRYPOINT (node itself gets SIGTERM);
//   - apt-get installs skip recommends and delete the package lists in the same layer (size);
//   - each Dockerfile has its own `<name>.dockerignore` (BuildKit reads it instead of the root one).
// Usage: node docker/lint.mjs [Dockerfile…]   (default: docker/Dockerfile). Exit 1 on any problem.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import dockerfileUtils from 'dockerfile-utils';

const here = dirname(fileURLToPath(import.meta.url));
/** Final stages that become images; each must satisfy the runtime rules. */
export const RUNTIME_TARGETS = ['service', 'job-executor'];
const E = dockerfileUtils.ValidationSeverity.ERROR;

/** Joins continuation lines and drops comments: one entry per instruction, with its first line number. */
function instructions(text) {
  const out = [];
  let current;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (current === undefined && (line === '' || line.startsWith('#'))) return;
    if (current !== undefined && line.startsWith('#')) return;
    const body = line.endsWith('\\') ? line.slice(0, -1) : line;
    if (current === undefined) current = { line: i + 1, text: body };
    else current.text += ` ${body}`;
    if (!line.endsWith('\\')) {
      const [keyword = '', ...rest] = current.text.trim().split(/\s+/);
      out.push({ line: current.line, keyword: keyword.toUpperCase(), args: rest.join(' ') });
      current = undefined;
    }
  });
  return out;
}

/** Problems of one Dockerfile, as `file:line: message` strings (empty when clean). */
export function lintDockerfile(file) {
  const text = readFileSync(file, 'utf8');
  const name = relative(process.cwd(), file) || file;
  const problems = [];
  const settings = {
    deprecatedMaintainer: E,
    directiveCasing: E,
    emptyContinuationLine: E,
    instructionCasing: E,
    instructionCmdMultiple: E,
    instructionEntrypointMultiple: E,
    instructionHealthcheckMultiple: E,
    instructionJSONInSingleQuotes: E,
    instructionWorkdirRelative: E,
  };
  for (const d of dockerfileUtils.validate(text, settings)) {
    problems.push(`${name}:${d.range.start.line + 1}: ${d.message}`);
  }

  // Stages: FROM [--platform=…] image [AS name].
  const stages = [];
  for (const ins of instructions(text)) {
    if (ins.keyword === 'FROM') {
      const m = /(?:^|\s)AS\s+(\S+)\s*$/i.exec(ins.args);
      stages.push({ name: m?.[1] ?? '', from: ins, body: [] });
    } else stages.at(-1)?.body.push(ins);
  }
  const build = stages.find((s) => s.name === 'build');
  if (!build) problems.push(`${name}: no stage named build`);
  else if (!/--platform=\$\{?BUILDPLATFORM\}?/.test(build.from.args))
    problems.push(`${name}:${build.from.line}: the build stage must run on --platform=$BUILDPLATFORM`);

  for (const target of RUNTIME_TARGETS) {
    const stage = stages.find((s) => s.name === target);
    if (!stage) {
      problems.push(`${name}: no stage named ${target}`);
      continue;
    }
    const users = stage.body.filter((i) => i.keyword === 'USER');
    const user = users.at(-1)?.args.split(':')[0];
    if (!user || user === 'root' || user === '0')
      problems.push(`${name}:${stage.from.line}: stage ${target} must end with a non-root USER`);
    if (!stage.body.some((i) => i.keyword === 'HEALTHCHECK' && /\bCMD\b/.test(i.args)))
      problems.push(`${name}:${stage.from.line}: stage ${target} has no HEALTHCHECK CMD`);
    const entry = stage.body.filter((i) => i.keyword === 'ENTRYPOINT').at(-1);
    if (!entry?.args.startsWith('['))
      problems.push(`${name}:${stage.from.line}: stage ${target} needs an exec-form ENTRYPOINT ["node", …]`);
  }

  for (const ins of instructions(text)) {
    if (ins.keyword !== 'RUN' || !/apt-get\s+install/.test(ins.args)) continue;
    if (!ins.args.includes('--no-install-recommends'))
      problems.push(`${name}:${ins.line}: apt-get install without --no-install-recommends`);
    if (!ins.args.includes('rm -rf /var/lib/apt/lists'))
      problems.push(
        `${name}:${ins.line}: apt-get install without rm -rf /var/lib/apt/lists/* in the same RUN`,
      );
  }

  if (!existsSync(`${file}.dockerignore`)) problems.push(`${name}: missing ${name}.dockerignore`);
  return problems;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const files = process.argv.slice(2);
  const problems = (files.length ? files : [join(here, 'Dockerfile')]).flatMap(lintDockerfile);
  for (const p of problems) process.stderr.write(`${p}\n`);
  if (problems.length) process.exit(1);
  process.stdout.write('Dockerfiles: no problems\n');
}
