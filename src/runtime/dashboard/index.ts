export { CSRF_HEADER, createDashboard, type Dashboard, type DashboardOptions } from './dashboard.ts'
