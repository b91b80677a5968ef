export {
  type BuildIssue,
  type BuildUnitOptions,
  buildUnit,
  removeBuild,
  removeUnitBuilds,
  type UnitBuild,
} from './build-unit.ts'
