import { adminAccountsSuite } from './admin-accounts.suite';

adminAccountsSuite('mysql');
