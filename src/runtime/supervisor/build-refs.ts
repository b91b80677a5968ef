import { removeBuild, type UnitBuild } from '../build/index.ts'

/**
 * Which build of a unit new instances run, and how many live instances run each build:
 * a build that is no longer current is removed from disk with its last instance (a
 * running process keeps its bundle until it exits; its source map stays readable for
 * its stack traces). Removal failures are the remover's to swallow (`removeBuild` does).
 */
export class BuildRefs {
  #current: UnitBuild | undefined
  readonly #users = new Map<UnitBuild, number>()
  readonly #remove: (build: UnitBuild) => Promise<void>

  constructor(remove: (build: UnitBuild) => Promise<void> = removeBuild) {
    this.#remove = remove
  }

  /** The build new instances run; undefined without builds, or before the first one. */
  get current(): UnitBuild | undefined {
    return this.#current
  }

  /** Makes `build` current; the previous one goes now if no instance runs it, else with its last. */
  setCurrent(build: UnitBuild): void {
    const previous = this.#current
    this.#current = build
    if (previous && previous !== build && !this.#users.has(previous)) void this.#remove(previous)
  }

  /** Counts one instance running `build` until `exited` settles. */
  use(build: UnitBuild, exited: Promise<unknown>): void {
    this.#users.set(build, (this.#users.get(build) ?? 0) + 1)
    void exited.then(() => {
      const left = (this.#users.get(build) ?? 1) - 1
      if (left > 0) {
        this.#users.set(build, left)
        return
      }
      this.#users.delete(build)
      if (build !== this.#current) void this.#remove(build)
    })
  }

  /** Removes `build` if it is neither current nor run by any instance (a refused deploy's). */
  discard(build: UnitBuild): void {
    if (build !== this.#current && !this.#users.has(build)) void this.#remove(build)
  }

  /** Live instances running `build` (for tests). */
  users(build: UnitBuild): number {
    return this.#users.get(build) ?? 0
  }
}
