export {
  ensurePrivateDir,
  ensurePrivateFile,
  PRIVATE_DIR_MODE,
  PRIVATE_FILE_MODE,
  tightenIfExists,
} from './private-files.ts'
