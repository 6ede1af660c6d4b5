import {
  createTRPCClient,
  httpBatchLink,
  httpLink,
  isNonJsonSerializable,
  splitLink,
  type TRPCClient,
} from '@trpc/client'
import type { AppRouter } from '@darkroom/trpc'

/** The typed client every part of the example uses: only the `AppRouter` type crosses over. */
export type DarkroomClient = TRPCClient<AppRouter>

export interface ClientOptions {
  /** The server's base URL, e.g. `http://127.0.0.1:3000` (no trailing slash needed). */
  baseUrl: string
  /** An API key `sk_...`; omitted for guest calls. */
  apiKey?: string | null
}

export function createDarkroomClient({ baseUrl, apiKey }: ClientOptions): DarkroomClient {
  const url = `${baseUrl.replace(/\/+$/, '')}/trpc`
  const headers = () => (apiKey ? { authorization: `Bearer ${apiKey}` } : {})
  return createTRPCClient<AppRouter>({
    links: [
      splitLink({
        // FormData (photos.upload) goes in its own request; everything else is batched.
        condition: (op) => isNonJsonSerializable(op.input),
        true: httpLink({ url, headers }),
        false: httpBatchLink({ url, headers }),
      }),
    ],
  })
}

/** A photo as the server returns it, inferred from the router (nothing is declared by hand). */
export type Photo = Awaited<ReturnType<DarkroomClient['photos']['get']['query']>>

/** `photos.list`'s input, inferred from the router: sorts, filters, paging. */
export type ListPhotosInput = Exclude<
  Parameters<DarkroomClient['photos']['list']['query']>[0],
  void
>
