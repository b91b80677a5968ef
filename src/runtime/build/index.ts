export {
  type BuildIssue,
  type BuildUnitOptions,
  buildUnit,
  buildUnits,
  removeBuild,
  removeUnitBuilds,
  type UnitBuild,
} from './build-unit.ts'
