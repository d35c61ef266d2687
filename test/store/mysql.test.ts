// The store suite against mysql (TEST_MYSQL_URL; fails when unset).
import { describeStoreSuite } from './suite';

describeStoreSuite('mysql');
