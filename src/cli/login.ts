// `q2api login`: the device-code login of /v2/auth/* in a terminal: print the link and the code,
// wait for the approval, store the account in the configured database.

import { createDeviceLogin, type DeviceLoginDeps } from '../pool/device-login';
import type { Sleep } from '../pool/lifecycle';
import { isRegion } from '../pool/oidc-endpoints';

export interface Io {
  out(s: string): void;
  err(s: string): void;
}

const HELP = `q2api login [--label L] [--start-url URL] [--region R] [--disabled]

  Logs an AWS Builder ID (default) or IAM Identity Center account in with a device code and adds it.
  --start-url   IAM Identity Center start URL, e.g. https://my-org.awsapps.com/start
  --region      the Identity Center region (default: the one of OIDC_ENDPOINT)
  --disabled    add the account disabled
`;

const VALUE_FLAGS = new Set(['label', 'start-url', 'region']);
const BOOLEAN_FLAGS = new Set(['disabled', 'help']);

function parse(args: string[]): Map<string, string> | string {
  const opts = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '-h') {
      opts.set('help', 'true');
      continue;
    }
    if (!arg.startsWith('--')) return `unexpected argument ${JSON.stringify(arg)}`;
    const [name, inline] = arg.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    if (BOOLEAN_FLAGS.has(name)) opts.set(name, 'true');
    else if (VALUE_FLAGS.has(name)) {
      const value = inline ?? args[++i];
      if (value === undefined || value === '') return `--${name} needs a value`;
      opts.set(name, value);
    } else return `unknown option --${name}`;
  }
  return opts;
}

export async function runLoginCommand(ctx: DeviceLoginDeps, args: string[], io: Io, opts: { sleep?: Sleep; signal?: AbortSignal } = {}): Promise<number> {
  const parsed = parse(args);
  if (typeof parsed === 'string') {
    io.err(`q2api login: ${parsed}\n\n${HELP}`);
    return 2;
  }
  if (parsed.has('help')) {
    io.out(HELP);
    return 0;
  }
  const region = parsed.get('region');
  if (region !== undefined && !isRegion(region)) {
    io.err(`q2api login: --region ${JSON.stringify(region)} is not an AWS region such as us-east-1\n`);
    return 2;
  }
  const startUrl = parsed.get('start-url');
  if (startUrl !== undefined && !/^https?:\/\//.test(startUrl)) {
    io.err(`q2api login: --start-url must be an https:// URL such as https://my-org.awsapps.com/start\n`);
    return 2;
  }
  const login = createDeviceLogin({ ...ctx, ...(opts.sleep ? { sleep: opts.sleep } : {}) });
  const started = await login.start({
    label: parsed.get('label') ?? null,
    enabled: !parsed.has('disabled'),
    ...(startUrl !== undefined ? { startUrl } : {}),
    ...(region !== undefined ? { region } : {}),
  });
  io.out(
    `Open this link in a browser and approve the request:\n\n  ${started.verificationUriComplete}\n\n` +
      `The page should show the code ${started.userCode}. Waiting (up to ${Math.min(started.expiresIn, 300)} s)…\n`,
  );
  const result = await login.claim(started.authId, opts.signal);
  if (result.status === 'completed' && result.account) {
    const label = result.account.label ? ` (${result.account.label})` : '';
    io.out(`Logged in: account ${result.account.id}${label} added${result.account.enabled ? '' : ', disabled'}.\n`);
    return 0;
  }
  const why = result.status === 'expired' ? 'the code expired before it was approved' : result.status === 'denied' ? 'the request was denied' : 'the login failed';
  io.err(`q2api login: ${why}${result.error ? `: ${result.error}` : ''}\n`);
  return 1;
}
