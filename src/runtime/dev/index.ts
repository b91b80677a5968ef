export { type WatchOptions, watchUnits } from './watch-units.ts'
