/**
 * The runtime's logs: one JSON-lines file per unit under `<stateDir>/logs/` (rotated
 * to `.log.1` past 5 MiB), the supervisor's writer, and readers for tools and the
 * dashboard: the tail matching a filter (`readLogs`), new lines as they come
 * (`followLogs`), a pretty line for people (`formatLogRecord`) and the control API's
 * `GET /logs` (`logsRoute`).
 */
export { type FollowLogsOptions, followLogs } from './follow-logs.ts'
export { formatLogRecord } from './format-log.ts'
export { createLogFiles, type LogFiles, unitLogPath } from './log-files.ts'
export { type LogFilter, matchesFilter, parseLevel, parseSince } from './log-filter.ts'
export {
  instanceRecord,
  LEVELS,
  type LevelName,
  type LogRecord,
  type LogStream,
  levelName,
  parseLogLine,
  supervisorRecord,
} from './log-record.ts'
export { logsRoute } from './logs-route.ts'
export { type LogEntry, logUnits, type ReadLogsOptions, readLogs } from './read-logs.ts'
