/** The bounds a walker is handed (`STRUCTURE_LIMITS` in production, smaller ones in tests). */
export interface StructureLimits {
  containerBlocks: number
  metadataBlocks: number
  metadataBytes: number
  iccProfileBytes: number
  images: number
  tiffIfds: number
  tiffEntries: number
  jpegScans: number
}
