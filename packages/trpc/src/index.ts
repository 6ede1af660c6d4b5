export { createAppRouter } from './routers/app.js'
export type { AppRouter, AppRouterOptions } from './routers/app.js'
export { createContext, createContextInner, toHeaders } from './context.js'
export type {
  Authenticate,
  Context,
  ImageUrlFormat,
  RequestContext,
  SignedImageUrls,
  SignImageUrls,
  UploadRateLimit,
} from './context.js'
export { createCallerFactory } from './trpc.js'
export { resolveUploadCaller } from './upload-caller.js'
export type { UploadPolicy } from './upload-caller.js'
export {
  apiKeyAuthenticator,
  bearerToken,
  combineAuthenticators,
} from './records/api-key-authenticator.js'
export type { ApiKeyAuthenticatorOptions } from './records/api-key-authenticator.js'
export {
  API_KEY_PREFIX,
  API_KEY_SCOPES,
  createApiKey,
  generateApiKey,
  hashApiKey,
  isApiKeyShaped,
} from './records/api-keys.js'
export type { ApiKeyInfo, CreateApiKeyInput, CreatedApiKey, KeyDeps } from './records/api-keys.js'
export {
  SESSION_TOKEN_PREFIX,
  SESSION_TTL_MS,
  SIGN_IN_CODE_PREFIX,
  SIGN_IN_CODE_TTL_MS,
  callerOfSession,
  createSession,
  createSignInCode,
  exchangeSignInCode,
  inspectSignInCode,
  isSessionTokenShaped,
  isSignInCodeShaped,
  revokeSessionToken,
  sessionAuthenticator,
} from './records/sessions.js'
export type { CreatedSession, CreatedSignInCode } from './records/sessions.js'
export { WEBHOOK_EVENT_TYPES, DEFAULT_MAX_WEBHOOKS_PER_OWNER } from './records/webhooks.js'
export type { WebhookRules } from './records/webhooks.js'
export { checkWebhookUrl, vetAddress, hostOf } from './records/webhook-url.js'
export type { WebhookUrlPolicy } from './records/webhook-url.js'
export { TRPC_ERROR_CODE_OF, formatError, schemaViolations } from './errors.js'
export type { DarkroomErrorData, DarkroomErrorShape, SchemaIssue } from './errors.js'
export type { UploadedFormFile } from './schemas/upload.js'
export { MAX_FORM_FILE_BYTES, FILE_FIELDS } from './schemas/upload.js'
export { UploadRecords, isUnsettled } from './records/uploads.js'
export { OutboxEventSink } from './records/webhook-outbox.js'
export type { OutboxEventSinkOptions } from './records/webhook-outbox.js'
