// Validates OpenAPI documents with @apidevtools/swagger-parser (the schema of their version,
// then the rules the schema cannot say: unique operationIds, path parameters declared…).
// Usage: node validate.js FILE...   Exits 1, naming each problem, when one does not validate.
"use strict";
const SwaggerParser = require("@apidevtools/swagger-parser");

async function main(files) {
  if (files.length === 0) {
    console.error("usage: node validate.js openapi.json...");
    return 2;
  }
  let failed = 0;
  for (const file of files) {
    try {
      const api = await SwaggerParser.validate(file);
      console.log(`${file}: valid OpenAPI ${api.openapi || api.swagger} (${Object.keys(api.paths || {}).length} paths)`);
    } catch (err) {
      failed++;
      console.error(`${file}: INVALID\n${err.message}`);
    }
  }
  return failed ? 1 : 0;
}

main(process.argv.slice(2)).then((code) => process.exit(code));
