// Lists, in the run's last lines, the tests skipped because a program from outside npm is missing (see
// test/support/programs.ts), one line per reason, so a green run on a bare machine says what it did not check.
const MARKER = /\((skipped, needs [^)]*)\)/;

class SkipReporter {
  onRunComplete(_contexts, results) {
    const reasons = new Map();
    for (const file of results.testResults) {
      for (const test of file.testResults) {
        const match = test.status === 'pending' && MARKER.exec(test.fullName);
        if (match) reasons.set(match[1], (reasons.get(match[1]) ?? 0) + 1);
      }
    }
    for (const [reason, count] of reasons) process.stderr.write(`${count} test${count === 1 ? '' : 's'} ${reason}\n`);
  }
}

module.exports = SkipReporter;
