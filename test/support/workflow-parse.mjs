// GitHub's own workflow parser (@actions/workflow-parser, ES modules only), run outside Jest: reads
// {name, content} pairs on stdin, prints for each its parse errors and the converted workflow template.
import { convertWorkflowTemplate, NoOperationTraceWriter, parseWorkflow } from '@actions/workflow-parser';

const files = JSON.parse(
  await new Promise((resolve) => {
    let input = '';
    process.stdin.on('data', (d) => {
      input += d;
    });
    process.stdin.on('end', () => resolve(input));
  }),
);
const results = [];
for (const file of files) {
  const parsed = parseWorkflow(file, new NoOperationTraceWriter());
  const template = parsed.value ? await convertWorkflowTemplate(parsed.context, parsed.value) : undefined;
  results.push({
    name: file.name,
    errors: parsed.context.errors.getErrors().map((e) => e.message),
    template: JSON.parse(JSON.stringify(template ?? null)),
  });
}
console.log(JSON.stringify(results));
