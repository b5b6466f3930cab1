import { config, gitops } from './config';
import { runRepositorySynth } from './lib/repository';

// dist/ and gitops/dist/ from config.ts, refusing a secrets/ folder that disagrees with it.
runRepositorySynth({ root: __dirname, config, gitops });
