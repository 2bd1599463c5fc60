import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { stringify } from 'yaml';
import type { AuditstreamConfig } from '../config/schema.js';
import { QueryError } from '../store/query-error.js';
import { cloudFormationTemplate, isTemplateType, quickCreateUrl, stackName, TEMPLATE_TYPES, type TemplateType } from '../tenants/cloudformation.js';
import type { TenantDirectory } from '../tenants/tenant-directory.js';
import { tenantNotFound } from './auth.js';
import { HttpError } from './http-error.js';
import { routeSchemas } from './schemas.js';

/** The region a quick-create link opens the console in when `?region=` names none. */
const DEFAULT_REGION = 'us-east-1';
const REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;

export interface CloudFormationRouteDeps {
  config: AuditstreamConfig['tenants'];
  /** The in-memory directory the tenant routes keep in step with the control store. */
  tenants: TenantDirectory;
}

/**
 * GET /v1/tenants/:tenant/cloudformation/:type: the template a tenant launches
 * in its AWS account, with its External ID in the role's trust policy (docs/tenants.md,
 * "CloudFormation"). GET /v1/cloudformation/:type: the same template with the
 * External ID as a parameter, for the operator to host for quick-create links.
 * YAML unless the request's Accept names application/json.
 */
export function registerCloudFormationRoutes(api: FastifyInstance, deps: CloudFormationRouteDeps): void {
  api.get('/v1/tenants/:tenant/cloudformation/:type', { config: { access: 'read' }, schema: routeSchemas.tenantCloudFormation }, async (req, reply) => {
    const { tenant: id, type } = req.params as { tenant: string; type: string };
    const region = regionOf(req);
    const templateType = knownType(type);
    const tenant = deps.tenants.get(id);
    if (!tenant) throw tenantNotFound(id);
    const template = cloudFormationTemplate(templateType, { vendorPrincipal: vendorPrincipal(deps.config), externalId: tenant.externalId, tenantId: tenant.id });
    const name = stackName(tenant.id, templateType);
    if (!wantsJson(req)) return sendYaml(reply, template, `${name}.yaml`);
    const templateUrl = deps.config.cloudFormationTemplateUrls[templateType];
    return {
      type: templateType,
      tenant: tenant.id,
      stackName: name,
      template,
      quickCreateUrl: templateUrl ? quickCreateUrl({ templateUrl, region, stackName: name, externalId: tenant.externalId }) : null,
    };
  });

  api.get('/v1/cloudformation/:type', { schema: routeSchemas.genericCloudFormation }, async (req, reply) => {
    const { type } = req.params as { type: string };
    regionOf(req);
    const templateType = knownType(type);
    const template = cloudFormationTemplate(templateType, { vendorPrincipal: vendorPrincipal(deps.config) });
    if (!wantsJson(req)) return sendYaml(reply, template, `auditstream-${templateType}.yaml`);
    return { type: templateType, template };
  });
}

function knownType(type: string): TemplateType {
  if (isTemplateType(type)) return type;
  throw new HttpError(404, 'TEMPLATE_TYPE_NOT_FOUND', `no CloudFormation template of type "${type.slice(0, 64)}" (known: ${TEMPLATE_TYPES.join(', ')})`);
}

function vendorPrincipal(config: AuditstreamConfig['tenants']): string {
  // Without it no trust policy can be written: a server setting, not the caller's mistake.
  if (config.vendorPrincipal === undefined) {
    throw new HttpError(501, 'NOT_CONFIGURED', 'CloudFormation templates need tenants.vendorPrincipal (the vendor AWS account id or role ARN the roles trust) in the server config');
  }
  return config.vendorPrincipal;
}

/** `?region=` (the quick-create link's console region); any other parameter is named, not ignored. */
function regionOf(req: FastifyRequest): string {
  const { region, ...unknown } = req.query as { region?: string };
  const [misspelt] = Object.keys(unknown);
  if (misspelt !== undefined) throw new QueryError(misspelt, 'unknown parameter (known: region)');
  if (region === undefined) return DEFAULT_REGION;
  if (!REGION.test(region)) throw new QueryError('region', `"${region.slice(0, 64)}" is not an AWS region name like us-east-1`);
  return region;
}

/** JSON when Accept names application/json before any YAML type; YAML otherwise, `*\/*` and no Accept included. */
function wantsJson(req: FastifyRequest): boolean {
  const types = (req.headers.accept ?? '').split(',').map((t) => t.split(';')[0]!.trim().toLowerCase());
  const json = types.indexOf('application/json');
  const yaml = types.findIndex((t) => t.endsWith('/yaml') || t.endsWith('/x-yaml'));
  return json !== -1 && (yaml === -1 || json < yaml);
}

function sendYaml(reply: FastifyReply, template: Record<string, unknown>, fileName: string): FastifyReply {
  return reply
    .type('application/yaml; charset=utf-8')
    .header('Content-Disposition', `attachment; filename="${fileName}"`)
    // YAML 1.1 quoting: CloudFormation reads 1.1, where an unquoted 2012-10-17 is a date and an unquoted yes a boolean.
    .send(stringify(template, { version: '1.1', lineWidth: 0 }));
}
