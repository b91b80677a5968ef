/** The catalog's tables. Prices are integer cents: no float ever touches money. */
export interface CatalogDb {
  products: {
    id: string
    name: string
    price_cents: number
    stock: number
  }
  /** One row per reservation key: the key is what makes `reserve` safe to retry. */
  reservations: {
    key: string
    created_at: string
    released_at: string | null
  }
  reservation_lines: {
    reservation_key: string
    product_id: string
    name: string
    quantity: number
    price_cents: number
  }
}
