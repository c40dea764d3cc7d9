// Webhook hosts are judged by the addresses they resolve to, and the connection goes to the address
// that was checked: an allowlisted name that resolves to loopback, link-local, private… is refused
// unless the operator listed the address; the host is resolved once per attempt (no rebinding).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ResolveAll, WebhookNotifier } from '../src/adapters/webhook-notifier.js';
import { explicitWebhookAddresses, loadConfig } from '../src/config.js';
import {
  effectiveAddress,
  explicitAddressList,
  isAddressEntry,
  nonPublicRange,
  webhookAddressAllowed,
} from '../src/core/address-policy.js';

describe('address policy', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.5.6.7', 'loopback'],
    ['::1', 'loopback'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['169.254.169.254', 'link-local'],
    ['fe80::1', 'link-local'],
    ['10.1.2.3', 'private'],
    ['172.20.0.1', 'private'],
    ['192.168.55.1', 'private'],
    ['100.64.0.1', 'shared'],
    ['fd00::1', 'unique-local'],
    ['224.0.0.251', 'multicast'],
    ['ff02::1', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:169.254.169.254', 'link-local'],
    ['64:ff9b::a00:1', 'private'],
    ['2002:c0a8:0101::1', 'private'],
    ['8.8.8.8', null],
    ['2606:4700::1111', null],
    ['::ffff:8.8.8.8', null],
  ])('%s → %s', (ip, range) => {
    expect(nonPublicRange(ip)).toBe(range);
  });

  it('IPv4-mapped and NAT64 forms are judged by their IPv4 address', () => {
    expect(effectiveAddress('::ffff:10.0.0.1')).toBe('10.0.0.1');
    expect(effectiveAddress('64:ff9b::7f00:1')).toBe('127.0.0.1');
  });

  it('an explicit address or range allows exactly that', () => {
    const list = explicitAddressList(['127.0.0.1', '10.1.0.0/16']);
    expect(webhookAddressAllowed('127.0.0.1', list)).toEqual({ ok: true });
    expect(webhookAddressAllowed('::ffff:127.0.0.1', list)).toEqual({ ok: true });
    expect(webhookAddressAllowed('127.0.0.2', list)).toEqual({ ok: false, range: 'loopback' });
    expect(webhookAddressAllowed('10.1.9.9', list)).toEqual({ ok: true });
    expect(webhookAddressAllowed('10.2.0.1', list)).toEqual({ ok: false, range: 'private' });
    expect(['10.0.0.0/8', 'fd00::/8', '127.0.0.1'].every(isAddressEntry)).toBe(true);
    expect(['10.0.0.0/33', 'example.com', '10.0.0.0/8/1'].some(isAddressEntry)).toBe(false);
  });

  it('the operator lists addresses with EDGEFLEET_WEBHOOK_ALLOWED_ADDRESSES or as IP literals', () => {
    const c = loadConfig({
      EDGEFLEET_WEBHOOK_ALLOWED_HOSTS: 'hooks.example.com,127.0.0.1:8080',
      EDGEFLEET_WEBHOOK_ALLOWED_ADDRESSES: '10.0.0.0/8',
      EDGEFLEET_WEBHOOK_URL: 'https://192.168.1.5/cb',
      EDGEFLEET_WEBHOOK_SECRET: '0123456789abcdef',
    });
    expect(explicitWebhookAddresses(c).sort()).toEqual(['10.0.0.0/8', '127.0.0.1', '192.168.1.5']);
  });
});

describe('webhook delivery', () => {
  let server: Server;
  let port: number;
  let hits = 0;
  beforeAll(async () => {
    server = createServer((req, res) => {
      hits++;
      req.resume();
      res.statusCode = 204;
      res.end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const notifier = (resolve: ResolveAll | undefined, explicit: string[] = []) =>
    new WebhookNotifier({
      secret: 'webhook-secret-0123456789',
      timeoutMs: 5000,
      explicitAddresses: explicitAddressList(explicit),
      ...(resolve ? { resolve } : {}),
    });
  const send = (n: WebhookNotifier, url: string) =>
    n.attempt(url, '{"jobId":"j"}', 'j:SUCCEEDED', new AbortController().signal);

  it('refuses an allowlisted name that resolves to loopback, link-local or private addresses, without connecting', async () => {
    const before = hits;
    for (const address of ['127.0.0.1', '169.254.169.254', '10.0.0.5', '::ffff:127.0.0.1']) {
      const resolve: ResolveAll = async () => [{ address, family: address.includes(':') ? 6 : 4 }];
      const r = await send(notifier(resolve), `http://hooks.example.test:${port}/cb`);
      expect(r.verdict, address).toBe('rejected');
      expect(r.detail).toMatch(
        /resolves to .* not allowed unless listed in EDGEFLEET_WEBHOOK_ALLOWED_ADDRESSES/,
      );
    }
    expect(hits).toBe(before);
  });

  it('refuses `localhost` through the system resolver', async () => {
    const r = await send(notifier(undefined), `http://localhost:${port}/cb`);
    expect(r.verdict).toBe('rejected');
    expect(r.detail).toMatch(/localhost resolves to .*loopback/);
  });

  it('refuses an IP literal in a non-public range unless it is listed', async () => {
    expect((await send(notifier(undefined), `http://127.0.0.1:${port}/cb`)).verdict).toBe('rejected');
    expect((await send(notifier(undefined, ['127.0.0.1']), `http://127.0.0.1:${port}/cb`)).verdict).toBe(
      'delivered',
    );
  });

  it('with the address listed explicitly, delivers to the address it checked, resolving once per attempt', async () => {
    let calls = 0;
    // A rebinding resolver: the first answer is the listed address, every later one the metadata service.
    const resolve: ResolveAll = async () => {
      calls++;
      return [{ address: calls === 1 ? '127.0.0.1' : '169.254.169.254', family: 4 }];
    };
    const before = hits;
    const r = await send(notifier(resolve, ['127.0.0.1']), `http://hooks.example.test:${port}/cb`);
    expect(r).toEqual({ verdict: 'delivered', detail: 'HTTP 204' });
    expect(calls).toBe(1);
    expect(hits).toBe(before + 1);
    // The next attempt resolves again and is judged again: refused.
    expect(
      (await send(notifier(resolve, ['127.0.0.1']), `http://hooks.example.test:${port}/cb`)).verdict,
    ).toBe('rejected');
  });

  it('skips refused addresses and uses an allowed one of the same name', async () => {
    const resolve: ResolveAll = async () => [
      { address: '169.254.169.254', family: 4 },
      { address: '127.0.0.1', family: 4 },
    ];
    const r = await send(notifier(resolve, ['127.0.0.1']), `http://hooks.example.test:${port}/cb`);
    expect(r.verdict).toBe('delivered');
  });
});
