import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { TestContext } from 'node:test';
import type { FastifyInstance, RouteOptions } from 'fastify';
import { pino } from 'pino';
import { configSchema } from '../../src/config/schema.js';
import { parseConfig } from '../../src/config/validate.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { buildApp } from '../../src/server/app.js';

/**
 * The real app built by `buildApp` on a real pipeline, listening on loopback,
 * with every route it registered. Fastify announces each new instance on the
 * `fastify.initialization` channel before any route is added, so the list is
 * complete without any test-only code in the app.
 */
export async function appWithRoutes(t: TestContext, dataDir: string, apiKeys: string[]): Promise<{ url: string; routes: RouteOptions[] }> {
  const config = parseConfig(configSchema, { dataDir, server: { listen: '127.0.0.1:0', apiKeys } }, '');
  const pipeline = await Pipeline.start(config, pino({ level: 'silent' }));
  t.after(() => pipeline.stop(1000));
  const routes: RouteOptions[] = [];
  const onInit = (message: unknown) => (message as { fastify: FastifyInstance }).fastify.addHook('onRoute', (r) => void routes.push(r));
  subscribe('fastify.initialization', onInit);
  let app: FastifyInstance;
  try {
    app = buildApp({ config, pipeline, search: pipeline.search, logger: pino({ level: 'silent' }) });
  } finally {
    unsubscribe('fastify.initialization', onInit);
  }
  t.after(() => app.close());
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return { url, routes };
}
