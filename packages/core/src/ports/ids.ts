import { v7 as uuidv7 } from 'uuid'

/** Makes new ids. The default is UUIDv7: time-ordered, so ids sort by creation. */
export interface IdGenerator {
  newId(): string
}

export const uuidV7Ids: IdGenerator = { newId: () => uuidv7() }
