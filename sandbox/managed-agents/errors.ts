/**
 * API errors in the Anthropic envelope: `{type:'error', error:{type, message, details?}, request_id}`.
 * Handlers throw these; the server turns them into responses.
 */
export type ApiErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'not_found_error'
  | 'request_too_large'
  | 'rate_limit_error'
  | 'api_error'
  | 'overloaded_error';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly type: ApiErrorType,
    message: string,
    readonly details?: { error_code: string },
    private readonly extraHeaders: Record<string, string> = {},
  ) {
    super(message);
  }

  envelope(requestId: string): unknown {
    return {
      type: 'error',
      error: { type: this.type, message: this.message, ...(this.details ? { details: this.details } : {}) },
      request_id: requestId,
    };
  }

  /**
   * Extra response headers. The SDK retries every 409 unless told not to; a conflict here is
   * deterministic, so retrying it would only triple the request count.
   */
  headers(): Record<string, string> {
    return { ...(this.status === 409 ? { 'x-should-retry': 'false' } : {}), ...this.extraHeaders };
  }
}

export const badRequest = (message: string, errorCode?: string): ApiError =>
  new ApiError(400, 'invalid_request_error', message, errorCode ? { error_code: errorCode } : undefined);

/** 409s use `invalid_request_error`: the API has no `conflict_error` type. */
export const conflict = (message: string): ApiError => new ApiError(409, 'invalid_request_error', message);

export const notFound = (message: string, errorCode?: string): ApiError =>
  new ApiError(404, 'not_found_error', message, errorCode ? { error_code: errorCode } : undefined);

/** The error type the API uses for a status. */
export function errorTypeFor(status: number): ApiErrorType {
  switch (status) {
    case 400:
    case 409:
      return 'invalid_request_error';
    case 401:
      return 'authentication_error';
    case 403:
      return 'permission_error';
    case 404:
      return 'not_found_error';
    case 413:
      return 'request_too_large';
    case 429:
      return 'rate_limit_error';
    case 529:
      return 'overloaded_error';
    default:
      return 'api_error';
  }
}
