// The error catalogue with the exact bodies of §3.2 (Q) and §4.5 (SSO OIDC), rendered as the
// real services render them: JSON body plus the Coral-style x-amzn-ErrorType header.

export const Q_ERROR_NAMESPACE = 'http://internal.amazon.com/coral/com.amazon.aws.codewhisperer/';
export const OIDC_ERROR_NAMESPACE = 'http://internal.amazon.com/coral/com.amazonaws.sso.oidc/';

export type TypeIn = 'header' | 'body' | 'both';

export interface QError {
  status: number;
  /** error shape name as on the wire, e.g. ThrottlingException */
  type: string;
  /** key order matters: the bodies are compared byte for byte */
  body: Record<string, unknown>;
  /** where the type travels; `body` means `__type` only, `both` header and `__type` */
  typeIn?: TypeIn;
  /** override of the full x-amzn-ErrorType value (UnknownOperationException has no namespace) */
  headerValue?: string;
  extraHeaders?: Array<[string, string]>;
}

const UNEXPECTED = 'Encountered an unexpected error when processing the request, please try again.';

export const qErrors = {
  invalidToken: (): QError => ({
    status: 403,
    type: 'AccessDeniedException',
    body: { message: 'The bearer token included in the request is invalid.', reason: null },
  }),
  suspended: (userId: string, reason: string | null): QError => ({
    status: 403,
    type: 'AccessDeniedException',
    body: {
      message: `Your User ID (${userId}) temporarily is suspended. We've locked your account as a security precaution. To restore access, please contact our support team to verify your identity: https://support.aws.amazon.com/#/contacts/kiro`,
      reason,
    },
  }),
  notEntitled: (): QError => ({
    status: 403,
    type: 'AccessDeniedException',
    body: {
      __type: 'com.amazon.aws.codewhisperer#AccessDeniedException',
      message: 'Your subscription does not support this application. Please contact your administrator.',
    },
  }),
  featureDenied: (): QError => ({
    status: 403,
    type: 'AccessDeniedException',
    body: { message: 'User is not authorized to access this feature.', reason: null },
  }),
  throttled: (): QError => ({
    status: 429,
    type: 'ThrottlingException',
    body: { message: 'Too many requests, please wait before trying again.', reason: null },
  }),
  capacity: (): QError => ({
    status: 429,
    type: 'ThrottlingException',
    body: { message: 'I am experiencing high traffic, please try again shortly.', reason: 'INSUFFICIENT_MODEL_CAPACITY' },
  }),
  abuse: (userId: string): QError => ({
    status: 429,
    type: 'ThrottlingException',
    body: {
      message: `Due to suspicious activity, we are imposing temporary limits on how frequently your account (${userId}) can send a request to Kiro while we investigate.`,
      reason: null,
    },
  }),
  dailyLimit: (): QError => ({
    status: 429,
    type: 'ThrottlingException',
    body: { message: "You've reached your daily usage limit. Please return tomorrow to continue building.", reason: 'DAILY_REQUEST_COUNT' },
  }),
  monthlyLimit: (): QError => ({
    status: 402,
    type: 'ServiceQuotaExceededException',
    body: { message: 'You have reached the limit.', reason: 'MONTHLY_REQUEST_COUNT' },
  }),
  overageLimit: (): QError => ({
    status: 402,
    type: 'ServiceQuotaExceededException',
    body: { message: 'You have reached the limit for overages.', reason: 'OVERAGE_REQUEST_LIMIT_EXCEEDED' },
  }),
  legacyMonthlyLimit: (status: number): QError => ({
    status,
    type: 'ThrottlingException',
    body: { message: 'Maximum com.amazon.aws.codewhisperer.streaming.GenerateAssistantResponse reached for this month.' },
  }),
  tooLong: (): QError => ({
    status: 400,
    type: 'ValidationException',
    body: { message: 'Input is too long.', reason: 'CONTENT_LENGTH_EXCEEDS_THRESHOLD' },
  }),
  invalidModel: (): QError => ({
    status: 400,
    type: 'ValidationException',
    body: { message: 'Invalid model. Please select a different model to continue.', reason: 'INVALID_MODEL_ID' },
  }),
  malformed: (): QError => ({
    status: 400,
    type: 'ValidationException',
    body: { message: 'Improperly formed request.', reason: null },
  }),
  internal: (): QError => ({
    status: 500,
    type: 'InternalServerException',
    body: { message: UNEXPECTED, reason: null },
  }),
  highLoad: (): QError => ({
    status: 500,
    type: 'InternalServerException',
    body: { message: 'Encountered unexpectedly high load when processing the request, please try again.' },
  }),
  unavailable: (): QError => ({
    status: 503,
    type: 'ServiceUnavailableException',
    body: { message: 'Service is currently unavailable. Please try again later.' },
  }),
  unknownOperation: (): QError => ({
    status: 400,
    type: 'UnknownOperationException',
    headerValue: 'UnknownOperationException',
    body: { message: 'Improperly formed request.', reason: null },
  }),
  /** Not a real-service error: a test asked for something the fake does not know (typo guard). */
  fakeMisuse: (message: string): QError => ({
    status: 500,
    type: 'FakeUpstreamMisuse',
    headerValue: 'FakeUpstreamMisuse',
    body: { message: `[fake-upstream] ${message}`, reason: null },
  }),
};

export const MIDSTREAM_MESSAGE = UNEXPECTED;

export interface RenderedError {
  status: number;
  headers: Array<[string, string]>;
  body: string;
}

export function renderQError(err: QError): RenderedError {
  const typeIn = err.typeIn ?? 'header';
  const headers: Array<[string, string]> = [['Content-Type', 'application/json']];
  if (typeIn !== 'body') headers.push(['x-amzn-ErrorType', err.headerValue ?? `${err.type}:${Q_ERROR_NAMESPACE}`]);
  headers.push(...(err.extraHeaders ?? []));
  const body =
    typeIn === 'header' || '__type' in err.body
      ? err.body
      : { __type: `com.amazon.aws.codewhisperer#${err.type}`, ...err.body };
  return { status: err.status, headers, body: JSON.stringify(body) };
}

// ── SSO OIDC (§4.5) ──

const OIDC: Record<string, { status: number; name: string; description: string }> = {
  authorization_pending: { status: 400, name: 'AuthorizationPendingException', description: 'Authorization is still pending' },
  slow_down: { status: 400, name: 'SlowDownException', description: 'Client is polling too frequently' },
  expired_token: { status: 400, name: 'ExpiredTokenException', description: 'Device code has expired' },
  access_denied: { status: 400, name: 'AccessDeniedException', description: 'Access denied by the user' },
  invalid_grant: { status: 400, name: 'InvalidGrantException', description: 'Invalid refresh token provided' },
  invalid_client: { status: 401, name: 'InvalidClientException', description: 'Invalid client provided' },
  unauthorized_client: { status: 400, name: 'UnauthorizedClientException', description: 'Client is not authorized for this grant' },
  unsupported_grant_type: { status: 400, name: 'UnsupportedGrantTypeException', description: 'Unsupported grant type' },
  invalid_request: { status: 400, name: 'InvalidRequestException', description: 'Invalid request' },
  invalid_scope: { status: 400, name: 'InvalidScopeException', description: 'Invalid scope requested' },
  invalid_client_metadata: { status: 400, name: 'InvalidClientMetadataException', description: 'Invalid client metadata' },
  invalid_redirect_uri: { status: 400, name: 'InvalidRedirectUriException', description: 'Invalid redirect URI' },
  server_error: { status: 500, name: 'InternalServerException', description: 'An internal server error occurred' },
};

export const OIDC_ERROR_CODES: readonly string[] = Object.keys(OIDC);

export function renderOidcError(code: string, description?: string, status?: number): RenderedError {
  const known = OIDC[code] ?? { status: 400, name: 'InvalidRequestException', description: code };
  return {
    status: status ?? known.status,
    headers: [
      ['Content-Type', 'application/json'],
      ['x-amzn-ErrorType', `${known.name}:${OIDC_ERROR_NAMESPACE}`],
    ],
    body: JSON.stringify({ error: code, error_description: description ?? known.description }),
  };
}
