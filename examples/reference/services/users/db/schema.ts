/** The users service's tables, as Kysely sees them. Timestamps are ISO-8601 text on both dialects. */
export interface UsersDb {
  users: {
    id: string
    email: string
    name: string
    created_at: string
  }
}
