/**
 * `tessera/fetch`: outbound HTTP for services, bounded. An outside API is outside the
 * system's trust: its body size, its redirects and its pace are checked here, not assumed.
 */
export {
  type BoundedFetchOptions,
  type BoundedResponse,
  boundedFetch,
  DEFAULT_MAX_BYTES,
  DEFAULT_TIMEOUT_MS,
} from './bounded-fetch.ts'
