/** The notifications service's table. */
export interface NotificationsDb {
  notifications: {
    id: string
    user_id: string
    kind: 'welcome' | 'order-placed'
    message: string
    /** What caused it (e.g. `order.placed:<orderId>`), unique: a redelivered event adds nothing. */
    source: string
    created_at: string
  }
}
