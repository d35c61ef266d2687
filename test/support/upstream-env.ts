// The environment that points a gateway's three upstreams (Amazon Q, OIDC, Kiro auth) at one fake.

export function upstreamEnv(url: string): { Q_ENDPOINT: string; OIDC_ENDPOINT: string; KIRO_AUTH_ENDPOINT: string } {
  return { Q_ENDPOINT: url, OIDC_ENDPOINT: url, KIRO_AUTH_ENDPOINT: url };
}
