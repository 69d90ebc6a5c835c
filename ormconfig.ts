// DataSource for the typeorm CLI (e.g. `npx typeorm migration:show -d dist/ormconfig.js`).
import "reflect-metadata";
import { loadConfig } from "./src/config";
import { createDataSource } from "./src/db/data-source";

export default createDataSource(loadConfig().database);
