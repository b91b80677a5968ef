// The runtime's file rule is the one of src/files (shared with the socket transport and services).
export { ensurePrivateDir, PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from '../../files/index.ts'
