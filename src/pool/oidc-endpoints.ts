// Which SSO OIDC endpoint serves an account's region: Builder ID lives in us-east-1, IAM Identity
// Center in the region of its instance. A custom OIDC_ENDPOINT (a proxy, the fake) serves them all.
import type { Config } from '../config';
import type { Upstream } from '../upstream/index';
import { createOidcClient, type OidcClient, oidcEndpointFor } from '../upstream/oidc';

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
  (region: string | null | undefined): { endpoint: string; client: OidcClient };
}

/** One client per endpoint, made on first use; the configured endpoint keeps the shared upstream client. */
export function createOidcResolver(deps: { config: Pick<Config, 'oidcEndpoint' | 'proxy'>; upstream: Pick<Upstream, 'oidc'> }): OidcResolver {
  const clients = new Map<string, OidcClient>([[deps.config.oidcEndpoint, deps.upstream.oidc]]);
  return (region) => {
    const endpoint = oidcEndpointForRegion(deps.config.oidcEndpoint, region);
    let client = clients.get(endpoint);
    if (!client) {
      client = createOidcClient({ endpoint, proxy: deps.config.proxy });
      clients.set(endpoint, client);
    }
    return { endpoint, client };
  };
}
