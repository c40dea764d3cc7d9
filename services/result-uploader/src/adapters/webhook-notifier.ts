// POSTs a notification to a webhook, signed (contracts' signWebhookBody: `X-Edgefleet-Signature:
// t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`) and with `Idempotency-Key: <jobId>:<state>`.
// One call = one attempt; the dispatcher retries. Redirects are not followed: the allowlist was checked
// for this URL, not for wherever a redirect points (no SSRF through a 30x).
//
// The host is resolved once, here, and every address is judged by core/address-policy.ts (loopback,
// link-local, private… refused unless listed explicitly); the connection goes to the address that was
// checked, through the request's own `lookup`, so no second resolution can hand it another address
// (DNS rebinding). A refused address is a permanent failure of the attempt (`rejected`).
import { lookup as dnsLookup } from 'node:dns/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { IDEMPOTENCY_HEADER, SIGNATURE_HEADER, signWebhookBody } from '@edgefleet/contracts';
import { webhookAddressAllowed } from '../core/address-policy.js';
import { webhookVerdict } from '../core/retry.js';
import type { AttemptResult } from './sqs-notifier.js';

/** Resolves a host name to every address it has (dns.lookup with `all: true` by default). */
export type ResolveAll = (host: string) => Promise<{ address: string; family: number }[]>;

export interface WebhookNotifierOptions {
  /** Signing secret(s); with several (a rotation) the header carries one v1 per secret. */
  secret: string | readonly string[];
  timeoutMs: number;
  /** Non-public addresses the operator allows (EDGEFLEET_WEBHOOK_ALLOWED_ADDRESSES and IP literals). */
  explicitAddresses?: BlockList;
  /** Name resolution (default: the system resolver). */
  resolve?: ResolveAll;
  /** Clock in ms (the signature's timestamp). */
  now?: () => number;
  userAgent?: string;
}

class AddressRefused extends Error {}

const systemResolve: ResolveAll = (host) => dnsLookup(host, { all: true, verbatim: true });

export class WebhookNotifier {
  private readonly explicit: BlockList;
  private readonly resolve: ResolveAll;
  constructor(private readonly o: WebhookNotifierOptions) {
    this.explicit = o.explicitAddresses ?? new BlockList();
    this.resolve = o.resolve ?? systemResolve;
  }

  /** The first address of `host` that may be contacted; throws AddressRefused when there is none. */
  private async checkedAddress(host: string): Promise<{ address: string; family: number }> {
    const bare = host.replace(/^\[|\]$/g, '');
    const candidates = isIP(bare) ? [{ address: bare, family: isIP(bare) }] : await this.resolve(bare);
    const refused: string[] = [];
    for (const c of candidates) {
      const v = webhookAddressAllowed(c.address, this.explicit);
      if (v.ok) return c;
      refused.push(`${c.address} (${v.range})`);
    }
    throw new AddressRefused(
      `webhook host ${bare} resolves to ${refused.join(', ') || 'no address'}: not allowed unless listed in EDGEFLEET_WEBHOOK_ALLOWED_ADDRESSES`,
    );
  }

  async attempt(
    url: string,
    body: string,
    idempotencyKey: string,
    signal: AbortSignal,
  ): Promise<AttemptResult> {
    const nowSec = Math.floor((this.o.now ?? Date.now)() / 1000);
    const target = new URL(url);
    let status: number;
    try {
      const checked = await this.checkedAddress(target.hostname);
      // Hands the checked address to the connection: no second resolution.
      const lookup: LookupFunction = (_host, options, callback) => {
        if ((options as { all?: boolean }).all)
          (callback as (e: null, a: { address: string; family: number }[]) => void)(null, [checked]);
        else callback(null, checked.address, checked.family);
      };
      status = await new Promise<number>((resolve, reject) => {
        const req = (target.protocol === 'https:' ? httpsRequest : httpRequest)(
          target,
          {
            method: 'POST',
            lookup,
            headers: {
              'content-type': 'application/json',
              'content-length': String(Buffer.byteLength(body)),
              'user-agent': this.o.userAgent ?? 'edgefleet-result-uploader',
              [SIGNATURE_HEADER]: signWebhookBody(this.o.secret, body, nowSec),
              [IDEMPOTENCY_HEADER]: idempotencyKey,
            },
            signal: AbortSignal.any([signal, AbortSignal.timeout(this.o.timeoutMs)]),
          },
          (res) => {
            res.resume();
            res.on('error', () => {});
            resolve(res.statusCode ?? 0);
          },
        );
        req.on('error', reject);
        req.end(body);
      });
    } catch (err) {
      if (err instanceof AddressRefused) return { verdict: 'rejected', detail: err.message };
      const code = (err as { code?: string }).code;
      const what = code ?? (err as Error).name ?? 'network error';
      return { verdict: 'retryable', detail: `webhook unreachable (${what})` };
    }
    const verdict = webhookVerdict(status);
    return {
      verdict,
      detail: verdict === 'delivered' ? `HTTP ${status}` : `webhook answered HTTP ${status}`,
    };
  }
}
