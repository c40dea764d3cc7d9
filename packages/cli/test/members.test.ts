// `edgefleet members` shows each node's device (board model, L4T release) and live facts (GPU load,
// temperature, power mode, RAM) from its meta, and "-" for a node that reports none (never zeros).
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deviceText, hwText } from '../src/commands/members.js';

const entry = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const body = {
  self: 'jetson-a',
  health: 0,
  members: [
    {
      name: 'jetson-a',
      ip: '10.0.0.7',
      port: 8000,
      state: 'alive',
      incarnation: 3,
      meta: {
        v: 1,
        role: 'edge',
        ver: '0.1.0',
        labels: {
          arch: 'arm64',
          l4t: '36.4.0',
          gpu: 'Jetson AGX Orin',
          board: 'NVIDIA Jetson AGX Orin Developer Kit',
        },
        load: { running: 1, queued: 0, freeDiskMiB: 50_000, at: 1 },
        hw: { gpuPct: 73, tempC: 61.1, power: 'MAXN', ramMiB: 5874, ramTotalMiB: 30536 },
      },
      lastChange: '2026-01-01T00:00:00.000Z',
      self: true,
    },
    {
      name: 'laptop-b',
      ip: '10.0.0.8',
      port: 8000,
      state: 'alive',
      incarnation: 1,
      meta: { v: 1, role: 'edge', ver: '0.1.0', labels: { arch: 'x64' } },
      lastChange: '2026-01-01T00:00:00.000Z',
      self: false,
    },
  ],
};
const server = createServer((req, res) => {
  res.setHeader('content-type', 'application/json');
  if (req.url === '/v1/members') res.end(JSON.stringify(body));
  else {
    res.statusCode = 404;
    res.end('{}');
  }
});
let url = '';
beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const addr = server.address();
  url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [entry, ...args], {
      env: { PATH: process.env.PATH ?? '' },
      timeout: 30_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('edgefleet members: device facts', () => {
  it('prints the device and live facts columns', async () => {
    const r = await cli(['members', '--members-api', url]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const [head, a, b] = r.stdout.trim().split('\n');
    expect(head).toMatch(/NAME\s+STATE\s+ROLE\s+ADDRESS\s+LOAD\s+DEVICE\s+HW\s+LASTCHANGE/);
    expect(a).toContain('NVIDIA Jetson AGX Orin Developer Kit, L4T 36.4.0');
    expect(a).toContain('GPU 73% 61.1°C MAXN RAM 5874/30536 MiB');
    // laptop-b reports neither: "-", not zeros.
    expect(b).toMatch(/^laptop-b\s+alive\s+edge\s+10\.0\.0\.8:8000\s+-\s+-\s+-\s+2026/);
  });

  it('--json carries them too', async () => {
    const r = await cli(['members', '--members-api', url, '--json']);
    const rows = JSON.parse(r.stdout) as { name: string; device: string; hw: string }[];
    expect(rows.map((x) => [x.name, x.device, x.hw])).toEqual([
      [
        'jetson-a',
        'NVIDIA Jetson AGX Orin Developer Kit, L4T 36.4.0',
        'GPU 73% 61.1°C MAXN RAM 5874/30536 MiB',
      ],
      ['laptop-b', '-', '-'],
    ]);
  });

  it.each([
    [undefined, '-'],
    [{}, '-'],
    [{ gpu: 'Jetson Orin Nano' }, 'Jetson Orin Nano'],
    [{ l4t: '35.4.1' }, 'L4T 35.4.1'],
  ])('deviceText(%j) = %s', (labels, text) => {
    expect(deviceText(labels)).toBe(text);
  });

  it.each([
    [undefined, '-'],
    [{ power: '15W' }, '15W'],
    [{ gpuPct: 0, tempC: 40 }, 'GPU 0% 40°C'],
    [{ ramMiB: 10 }, '-'],
  ])('hwText(%j) = %s', (hw, text) => {
    expect(hwText(hw)).toBe(text);
  });
});
