#!/usr/bin/env node
// The `coprs` command. Runs the TypeScript sources directly through tsx: no build step after npm install.
'use strict';
require('tsx/cjs/api').register();
const { main } = require('../src/cli/main.ts');
main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err) => {
    console.error(`coprs: ${err && err.message ? err.message : err}`);
    process.exitCode = 1;
  },
);
