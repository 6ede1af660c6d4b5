export { describeMetadataStoreContract } from './metadata-store.contract.js'
export type { MetadataStoreContractOptions } from './metadata-store.contract.js'
export {
  describeBlobStoreContract,
  INVALID_BLOB_KEYS,
  readAllBytes,
} from './blob-store.contract.js'
export type { BlobStoreContractOptions } from './blob-store.contract.js'
export type { ContractCapabilities } from './contract-helpers.js'
export { describeServerStoreContract } from './server-store.contract.js'
export type { ServerStoreContractOptions } from './server-store.contract.js'
