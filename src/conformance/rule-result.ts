/** One rule checked against the node under test. */
export interface RuleResult {
  /** A short, stable name, e.g. `duplicate-ends-with-fin`. */
  rule: string
  /** Where docs/protocol.md states it, e.g. `§4.4`. */
  section: string
  ok: boolean
  /** What was seen: why it failed, or a short note on a pass. */
  detail: string
}

/** A rule's outcome as one printed line: `PASS §4.4 duplicate-ends-with-fin — detail`. */
export function formatResult(r: RuleResult): string {
  return `${r.ok ? 'PASS' : 'FAIL'} ${r.section.padEnd(6)} ${r.rule}${r.detail ? ` — ${r.detail}` : ''}`
}

/**
 * Collects results while a run goes on. `check` runs one rule body: a thrown error is
 * that rule's failure (with the error's message), never the run's.
 */
export class Results {
  readonly all: RuleResult[] = []

  constructor(private readonly onResult: (r: RuleResult) => void = () => {}) {}

  add(rule: string, section: string, ok: boolean, detail = ''): boolean {
    const result = { rule, section, ok, detail }
    this.all.push(result)
    this.onResult(result)
    return ok
  }

  pass(rule: string, section: string, detail = ''): true {
    this.add(rule, section, true, detail)
    return true
  }

  fail(rule: string, section: string, detail: string): false {
    this.add(rule, section, false, detail)
    return false
  }

  /** Runs `body`; it returns a detail on pass, or throws (RuleFailed or any error) on failure. */
  async check(rule: string, section: string, body: () => Promise<string | undefined>): Promise<boolean> {
    try {
      return this.pass(rule, section, (await body()) ?? '')
    } catch (err) {
      return this.fail(rule, section, err instanceof Error ? err.message : String(err))
    }
  }

  get failed(): number {
    return this.all.filter((r) => !r.ok).length
  }
}

/** Fails the rule being checked with `message`. */
export function expect(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message)
}
