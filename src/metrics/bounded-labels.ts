/** The label value that stands for every value past the cap. */
export const OTHER = '(other)'
/** The route label of a request no route matched (and not seen matching before). */
export const UNMATCHED = '(unmatched)'

/**
 * Keeps the number of distinct values of a label (or of a tuple of labels, as one key)
 * bounded: the first `max` seen pass through, any later new one becomes `(other)`. Names
 * come from definitions and the registry, so the cap is only reached by callers naming
 * what does not exist (an untyped `broker.call`, a scanner walking random paths): those
 * must not grow the series without end.
 */
export class BoundedLabels {
  readonly #seen = new Set<string>()
  readonly #max: number

  constructor(max: number) {
    this.#max = max
  }

  /** True if `key` has (or now takes) a slot of its own. */
  admit(key: string): boolean {
    if (this.#seen.has(key)) return true
    if (this.#seen.size >= this.#max) return false
    this.#seen.add(key)
    return true
  }

  /** True if `key` took a slot before; never takes one. */
  has(key: string): boolean {
    return this.#seen.has(key)
  }
}
