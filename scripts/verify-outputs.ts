import { join } from 'node:path';
import { config, gitops } from '../config';
import { outputProblems } from '../lib/repository';

/**
 * `npm run verify`: are the committed outputs what config.ts gives, and does secrets/ agree with it?
 * Needs no key. Prints one line per problem with the command that fixes it; exit 0 when all agree, 1 otherwise.
 */
const problems = outputProblems({ root: join(__dirname, '..'), config, gitops });
for (const line of problems) console.error(line);
if (problems.length === 0) console.log('dist/, gitops/dist/ and secrets/ agree with config.ts');
process.exitCode = problems.length === 0 ? 0 : 1;
