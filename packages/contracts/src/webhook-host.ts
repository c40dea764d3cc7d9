// The device's webhook allowlist: which hosts a job's notify.webhook may name. One list
// (EDGEFLEET_WEBHOOK_ALLOWED_HOSTS) read by both the receiver (which rejects a job naming any other
// host with WEBHOOK_NOT_ALLOWED) and the uploader (which never calls any other host), so the two can
// never disagree. Empty: jobs may not name a webhook (the device default EDGEFLEET_WEBHOOK_URL and
// the results queue still work). The check exists because a webhook is a request the device makes on
// a job author's behalf (think http://169.254.169.254/).
import { z } from 'zod';

/** One entry: a host name (`api.example.com`), `*.example.com` (any subdomain), or `host:port`. */
export const WEBHOOK_HOST_PATTERN = /^(\*\.)?[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?(:\d{1,5})?$/;

export const WebhookHostEntry = z
  .string()
  .toLowerCase()
  .regex(WEBHOOK_HOST_PATTERN, 'a host name, *.domain or host:port');

/**
 * True when `url`'s host is allowed: an entry `host` matches the host on any port, `host:port` only
 * that port, `*.domain` any subdomain of domain (not domain itself).
 */
export function webhookHostAllowed(url: URL, allowlist: readonly string[]): boolean {
  const host = url.hostname.toLowerCase().replace(/^\[|\]$/g, '');
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  return allowlist.some((entry) => {
    const colon = entry.lastIndexOf(':');
    const [h, p] =
      colon > 0 && !entry.includes(']') ? [entry.slice(0, colon), entry.slice(colon + 1)] : [entry, ''];
    if (p && p !== port) return false;
    if (h.startsWith('*.')) return host.endsWith(h.slice(1)) && host.length > h.length - 1;
    return host === h;
  });
}
