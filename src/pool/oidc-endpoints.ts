// Which SSO OIDC endpoint serves an account's region: Builder ID lives in us-east-1, IAM Identity
// Center in the region of its instance. A custom OIDC_ENDPOINT (a proxy, the fake) serves them all.
import type { Config } from '../config';
import type { Upstream } from '../upstream/index';
import { createOidcClient, type OidcClient, oidcEndpointFor } from '../upstream/oidc';
import type { ProxyConfig } from '../upstream/proxy';

/** AWS region names (us-east-1, eu-central-1, us-gov-west-1, …); anything else never reaches a URL. */
export const REGION_PATTERN = '^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$';
const REGION = new RegExp(REGION_PATTERN);
const AWS_OIDC_ENDPOINT = /^https:\/\/oidc\.([a-z0-9-]+)\.amazonaws\.com$/;

export function isRegion(value: string): boolean {
  return REGION.test(value);
}

/** The endpoint for `region`: the configured one unless it is AWS's own and names another region. */
export function oidcEndpointForRegion(configured: string, region: string | null | undefined): string {
  if (!region || !isRegion(region)) return configured;
  const m = AWS_OIDC_ENDPOINT.exec(configured);
  return m && m[1] !== region ? oidcEndpointFor(region) : configured;
}

export interface OidcResolver {
  /** `proxy`: the account's own proxy, which replaces HTTP(S)_PROXY for its refreshes */
  (region: string | null | undefined, proxy?: string | null): { endpoint: string; client: OidcClient };
}

/** The proxy settings of a client made for one account proxy: every target goes through it. */
export function accountProxyConfig(proxy: string): ProxyConfig {
  return { httpProxy: proxy, httpsProxy: proxy };
}

/** One client per endpoint (and account proxy), made on first use; the configured endpoint without an
 *  account proxy keeps the shared upstream client. */
export function createOidcResolver(deps: { config: Pick<Config, 'oidcEndpoint' | 'proxy'>; upstream: Pick<Upstream, 'oidc'> }): OidcResolver {
  const clients = new Map<string, OidcClient>([[deps.config.oidcEndpoint, deps.upstream.oidc]]);
  return (region, proxy) => {
    const endpoint = oidcEndpointForRegion(deps.config.oidcEndpoint, region);
    // The key never leaves this map; a newline cannot occur in a URL, so it separates the two parts.
    const key = proxy ? `${endpoint}\n${proxy}` : endpoint;
    let client = clients.get(key);
    if (!client) {
      client = createOidcClient({ endpoint, proxy: proxy ? accountProxyConfig(proxy) : deps.config.proxy });
      clients.set(key, client);
    }
    return { endpoint, client };
  };
}
