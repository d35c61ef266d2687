// The store suite against postgres (TEST_PG_URL; fails when unset).
import { describeStoreSuite } from './suite';

describeStoreSuite('postgres');
