import { describe } from 'vitest'
import { fullFlowTests } from './full-flow.ts'
import { tempSqlite } from './helpers.ts'

describe('the reference system on SQLite', () => {
  fullFlowTests(async () => {
    const temp = tempSqlite()
    return { configFor: temp.configFor, dispose: async () => temp[Symbol.dispose]() }
  })
})
