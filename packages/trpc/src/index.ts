export { createAppRouter } from './routers/app.js'
export type { AppRouter, AppRouterOptions } from './routers/app.js'
export { createContext, createContextInner, toHeaders } from './context.js'
export type { Authenticate, Context, RequestContext, UploadRateLimit } from './context.js'
export { createCallerFactory } from './trpc.js'
export {
  apiKeyAuthenticator,
  bearerToken,
  combineAuthenticators,
} from './auth/api-key-authenticator.js'
export type { ApiKeyAuthenticatorOptions } from './auth/api-key-authenticator.js'
export {
  API_KEY_PREFIX,
  API_KEY_SCOPES,
  createApiKey,
  generateApiKey,
  hashApiKey,
  isApiKeyShaped,
} from './auth/keys.js'
export type { ApiKeyInfo, CreateApiKeyInput, CreatedApiKey, KeyDeps } from './auth/keys.js'
export { WEBHOOK_EVENT_TYPES } from './services/webhooks.js'
export { TRPC_ERROR_CODE_OF, formatError } from './errors.js'
export type { DarkroomErrorData, DarkroomErrorShape } from './errors.js'
export type { UploadedFormFile } from './schemas/upload.js'
