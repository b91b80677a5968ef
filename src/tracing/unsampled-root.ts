/**
 * The ids of a trace that starts here and lost the sampling draw: flags 00, so every hop
 * downstream (in this process or past the wire) records nothing either. Its ids are made
 * on first read: an in-process call whose handler never looks at its trace (nor logs, nor
 * calls on, nor goes over a wire) costs this one small object and no random ids.
 */
export class UnsampledRoot {
  readonly flags = 0
  #traceId: string | undefined
  #spanId: string | undefined

  constructor(
    readonly newTraceId: () => string,
    readonly newSpanId: () => string,
  ) {}

  get traceId(): string {
    this.#traceId ??= this.newTraceId()
    return this.#traceId
  }

  get spanId(): string {
    this.#spanId ??= this.newSpanId()
    return this.#spanId
  }
}
