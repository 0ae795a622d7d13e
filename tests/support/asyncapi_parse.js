// Parse AsyncAPI documents with @asyncapi/parser (the AsyncAPI project's own); print each file's errors as JSON.
// Used by tests/integration/test_asyncapi_documents.py; the package comes from `npm install --prefix .node`.
const { Parser } = require('@asyncapi/parser');
const fs = require('fs');
(async () => {
  const parser = new Parser();
  const out = {};
  for (const file of process.argv.slice(2)) {
    const { document, diagnostics } = await parser.parse(fs.readFileSync(file, 'utf8'));
    out[file] = { parsed: document !== undefined,
                  errors: diagnostics.filter(d => d.severity === 0).map(d => `${d.path.join('.')}: ${d.message}`) };
  }
  console.log(JSON.stringify(out));
})().catch(e => { console.error(e); process.exit(2); });
