// Baseline for upload-rss.bench.ts: a bare Bun.serve that reads every request
// body and throws it away. Its RSS growth is Bun's own floor for receiving a
// large body; Roster's figure is read against it.
const server = Bun.serve({
  hostname: '127.0.0.1',
  port: 0,
  maxRequestBodySize: 1024 * 1024 * 1024,
  async fetch(request) {
    let size = 0
    if (request.body) for await (const chunk of request.body) size += chunk.byteLength
    return Response.json({ size }, { status: 201 })
  }
})
console.log(JSON.stringify({ msg: 'listening', url: `http://127.0.0.1:${server.port}` }))
