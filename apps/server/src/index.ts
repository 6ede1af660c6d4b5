export { compose, createEngine } from './compose.js'
export type { ComposeOptions, Composed, Engine } from './compose.js'
export { loadConfig, ConfigError } from './config.js'
export type { ServerConfig } from './config.js'
export { createLogger } from './logger.js'
export type { Logger } from './logger.js'
export {
  signWebhook,
  verifyWebhookSignature,
  SIGNATURE_HEADER,
  EVENT_ID_HEADER,
} from './webhooks/signature.js'
export { serve } from './serve.js'
