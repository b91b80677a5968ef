/** Who a call is made for: set by the gateway after verifying a token, carried on every hop. */
export interface Principal {
  /** Stable subject id (the JWT `sub`). */
  id: string
  roles?: string[]
  /** Other verified claims; never the raw token. */
  claims?: Record<string, unknown>
}
