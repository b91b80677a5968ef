export { type CgroupMemory, cgroupMemory } from './cgroup-memory.ts'
export { nodeArgs, tsxLoader } from './node-args.ts'
