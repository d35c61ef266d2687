// The upstream services built from config: the Amazon Q client, the OIDC client and the Kiro auth client.

import type { Config } from '../config';
import { createQClient, type QClient } from './client';
import { createOidcClient, type OidcClient } from './oidc';
import { createKiroAuthClient, type KiroAuthClient } from './kiro-auth';

export interface Upstream {
  q: QClient;
  oidc: OidcClient;
  kiro: KiroAuthClient;
}

export function createUpstream(config: Config): Upstream {
  const proxy = config.proxy;
  return {
    q: createQClient({ endpoint: config.qEndpoint, dialect: config.qDialect, proxy, timeouts: config.upstreamTimeouts }),
    oidc: createOidcClient({ endpoint: config.oidcEndpoint, proxy }),
    kiro: createKiroAuthClient({ endpoint: config.kiroAuthEndpoint, proxy }),
  };
}
