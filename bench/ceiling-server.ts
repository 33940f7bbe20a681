// Ceiling servers: bare node:http, optionally one process per core (node:cluster), nothing else.
//   static: answers every request with one pre-serialised body (the limit of node:http here).
//   search: per request, the same hnswlib-node search on the same index, serialising the same fields
//           as `similar` (the limit of this stack: no framework, no validation, no auth, no filter callback).
//   burn:   per request, burns a fixed amount of CPU time in one synchronous stretch and answers with a
//           pre-serialised body: a server with our CPU cost per request but no variance, no GC churn, no I/O.
// Env: CEILING (JSON CeilingSpec). Prints "ready" on stdout when every process listens.
import cluster from 'node:cluster';
import * as fs from 'node:fs';
import * as http from 'node:http';
import { HierarchicalNSW } from 'hnswlib-node';

export interface CeilingSpec {
  mode: 'static' | 'search' | 'burn';
  port: number;
  processes: number;
  bodyFile?: string;
  indexFile?: string;
  itemsFile?: string;
  dim?: number;
  ef?: number;
  /** burn: CPU milliseconds per request. */
  burnMs?: number;
}

const spec = JSON.parse(process.env.CEILING ?? '{}') as CeilingSpec;

function staticHandler(): http.RequestListener {
  const body = fs.readFileSync(spec.bodyFile!);
  const headers = { 'content-type': 'application/json; charset=utf-8', 'content-length': body.length };
  return (_req, res) => {
    res.writeHead(200, headers);
    res.end(body);
  };
}

function burnHandler(): http.RequestListener {
  const body = fs.readFileSync(spec.bodyFile!);
  const headers = { 'content-type': 'application/json; charset=utf-8', 'content-length': body.length };
  const burnMicros = Math.max(0, (spec.burnMs ?? 0) * 1000);
  return (req, res) => {
    req.resume();
    req.on('end', () => {
      // Process CPU time, not wall time: a stretch preempted by another process still costs the full amount.
      const start = process.cpuUsage();
      let x = 0;
      for (;;) {
        for (let i = 0; i < 2000; i++) x = (x * 1103515245 + 12345) | 0;
        const used = process.cpuUsage(start);
        if (used.user + used.system >= burnMicros) break;
      }
      res.writeHead(200, { ...headers, 'x-burn': String(x & 1) });
      res.end(body);
    });
  };
}

function searchHandler(): http.RequestListener {
  const items = JSON.parse(fs.readFileSync(spec.itemsFile!, 'utf8')) as { id: string }[];
  const labelOf = new Map<string, number>(items.map((item, i) => [item.id, i]));
  const index = new HierarchicalNSW('cosine', spec.dim!);
  index.readIndexSync(spec.indexFile!);
  index.setEf(spec.ef ?? 64);
  return (req, res) => {
    // /v1/catalogues/<c>/items/<id>/similar?limit=10
    const url = req.url ?? '';
    const q = url.indexOf('?');
    const parts = (q < 0 ? url : url.slice(0, q)).split('/');
    const id = decodeURIComponent(parts[5] ?? '');
    const limit = q < 0 ? 10 : Number(new URLSearchParams(url.slice(q + 1)).get('limit') ?? 10);
    const label = labelOf.get(id);
    if (label === undefined) {
      res.writeHead(404).end();
      return;
    }
    const found = index.searchKnn(index.getPoint(label), limit + 1);
    const out: { id: string; score: number; item: unknown }[] = [];
    for (let i = 0; i < found.neighbors.length && out.length < limit; i++) {
      const l = found.neighbors[i];
      if (l === label) continue;
      out.push({ id: items[l].id, score: Math.round((1 - found.distances[i]) * 1e6) / 1e6, item: items[l] });
    }
    const body = JSON.stringify({ items: out });
    res.writeHead(200, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
    });
    res.end(body);
  };
}

if (spec.processes > 1 && cluster.isPrimary) {
  let listening = 0;
  for (let i = 0; i < spec.processes; i++) cluster.fork();
  cluster.on('listening', () => {
    if (++listening === spec.processes) process.stdout.write('ready\n');
  });
  const stop = () => {
    for (const w of Object.values(cluster.workers ?? {})) w?.kill();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
} else {
  const handler =
    spec.mode === 'static' ? staticHandler() : spec.mode === 'burn' ? burnHandler() : searchHandler();
  const server = http.createServer({ keepAliveTimeout: 60_000 }, handler);
  server.listen(spec.port, '127.0.0.1', () => {
    if (!cluster.isWorker) process.stdout.write('ready\n');
  });
  process.on('SIGTERM', () => process.exit(0));
}
