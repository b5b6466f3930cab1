import { load, loadAll, YAMLException } from 'js-yaml';

/**
 * YAML parsed with errors as one line: where (a file's path, if the caller does not add it), the line and column, and js-yaml's reason,
 * without the multi-line excerpt it draws. A broken file in secrets/ should name itself, not dump a parser trace.
 */
function oneLine(err: unknown, where: string): Error {
  if (!(err instanceof YAMLException)) return err as Error;
  const at = err.mark ? `line ${err.mark.line + 1}, column ${err.mark.column + 1}: ` : '';
  return new Error(`${where ? `${where}: ` : ''}${at}not valid YAML: ${err.reason}`);
}

export function parseYaml(text: string, where: string): unknown {
  try {
    return load(text);
  } catch (err) {
    throw oneLine(err, where);
  }
}

export function parseYamlDocuments(text: string, where: string): unknown[] {
  try {
    return loadAll(text);
  } catch (err) {
    throw oneLine(err, where);
  }
}
