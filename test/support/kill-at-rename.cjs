// Preload for crash tests: the process SIGKILLs itself at its Nth fs.renameSync (KILL_AT_RENAME=N), as a crash
// or a power cut would, and with KILL_AT_RENAME=count prints how many renames a whole run makes.
const fs = require('node:fs');

const at = process.env.KILL_AT_RENAME;
let renames = 0;
const renameSync = fs.renameSync;
fs.renameSync = function killingRename(...args) {
  renames += 1;
  if (String(renames) === at) process.kill(process.pid, 'SIGKILL');
  return renameSync.apply(this, args);
};
if (at === 'count') process.on('exit', () => process.stdout.write(`renames ${renames}\n`));
