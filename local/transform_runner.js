// Runs a Pub/Sub JavaScript UDF file as the SMT runtime does: in a fresh V8 context with the
// ECMAScript built-ins only (no require, module, process or Node API), each call limited to 500 ms.
// Protocol: one JSON request per line on stdin, one JSON answer per line on stdout, in order:
//   {"message": {"data", "attributes"}, "metadata": {...}, "now_ms"?: n, "repeat"?: n}
//   -> {"data", "attributes"} | {"filtered": true} | {"error": "..."}  (+ "ms" when repeated)
// Usage: node transform_runner.js UDF_FILE FUNCTION_NAME [TIMEOUT_MS]
'use strict';
const fs = require('fs');
const readline = require('readline');
const vm = require('vm');

const [file, functionName, timeoutText] = process.argv.slice(2);
const timeout = Number(timeoutText || 500);
const context = vm.createContext({});
vm.runInContext(fs.readFileSync(file, 'utf8'), context, { filename: file });
// "now" can be fixed per call (tests compare ingested_at); otherwise the real clock.
vm.runInContext('var __now; (function (realNow) { Date.now = function () { return __now === undefined ? realNow() : __now; }; })(Date.now);', context);
const call = new vm.Script(`__result = ${functionName}(__message, __metadata);`);
// Repeated calls (benchmarks) in one run, so the time is the UDF's, not the engine's per-call set-up.
const repeated = new vm.Script(`for (var __i = 0; __i < __repeat; __i++) __result = ${functionName}(__message, __metadata);`);

function answer(request) {
  context.__message = request.message;
  context.__metadata = request.metadata;
  context.__now = request.now_ms === undefined || request.now_ms === null ? undefined : request.now_ms;
  const repeat = request.repeat || 1;
  const started = process.hrtime.bigint();
  context.__repeat = repeat;
  try {
    (repeat > 1 ? repeated : call).runInContext(context, { timeout: timeout * repeat });
  } catch (error) {
    return { error: String(error && error.message !== undefined ? error.message : error) };
  }
  const result = context.__result;
  const out = result === null ? { filtered: true } : { data: result.data, attributes: result.attributes };
  if (request.repeat) out.ms = Number(process.hrtime.bigint() - started) / 1e6 / repeat;
  return out;
}

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  process.stdout.write(JSON.stringify(answer(JSON.parse(line))) + '\n');
});
