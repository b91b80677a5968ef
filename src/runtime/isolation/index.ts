export { CFS_PERIOD_US, type CgroupCpu, cfsQuotaUs, cgroupCpu } from './cgroup-cpu.ts'
export { type CgroupMemory, cgroupMemory } from './cgroup-memory.ts'
export { nodeArgs, tsxLoader } from './node-args.ts'
