/**
 * A minimal STS server: no STS emulator exists among the services available
 * here, so this test double speaks just enough of the STS Query protocol
 * (POST form `Action=AssumeRole`, XML answer) for the SDK's STSClient. It
 * grants one role, only with the expected ExternalId — as a trust policy with
 * an `sts:ExternalId` condition does — and answers AccessDenied otherwise.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';

export interface StsServerOptions {
  roleArn: string;
  externalId: string;
  /** Lifetime of issued credentials; AWS' minimum is 900 s. */
  durationSec?: number;
}

export interface AssumeRoleCall {
  roleArn: string | null;
  externalId: string | null;
  sessionName: string | null;
  granted: boolean;
  /** The access key the caller signed with. */
  callerAccessKeyId: string | undefined;
}

export interface StsServer {
  endpoint: string;
  readonly calls: readonly AssumeRoleCall[];
  /** Access key ids issued so far, in order. */
  readonly issuedAccessKeyIds: readonly string[];
}

const NS = 'https://sts.amazonaws.com/doc/2011-06-15/';

export async function startStsServer(t: TestContext, opts: StsServerOptions): Promise<StsServer> {
  const calls: AssumeRoleCall[] = [];
  const issued: string[] = [];
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
    const requestId = randomBytes(8).toString('hex');
    const reply = (status: number, xml: string) => {
      res.writeHead(status, { 'content-type': 'text/xml', 'x-amzn-requestid': requestId });
      res.end(xml);
    };
    const error = (status: number, code: string, message: string) =>
      reply(
        status,
        `<ErrorResponse xmlns="${NS}"><Error><Type>Sender</Type><Code>${code}</Code><Message>${escapeXml(message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`,
      );

    if (form.get('Action') !== 'AssumeRole') return error(400, 'InvalidAction', `unsupported action ${form.get('Action')}`);
    const call: AssumeRoleCall = {
      roleArn: form.get('RoleArn'),
      externalId: form.get('ExternalId'),
      sessionName: form.get('RoleSessionName'),
      granted: false,
      callerAccessKeyId: /Credential=([^/]+)\//.exec(String(req.headers.authorization ?? ''))?.[1],
    };
    calls.push(call);
    if (call.roleArn !== opts.roleArn || call.externalId !== opts.externalId) {
      return error(403, 'AccessDenied', `User: ${call.callerAccessKeyId ?? 'anonymous'} is not authorized to perform: sts:AssumeRole on resource: ${call.roleArn}`);
    }
    call.granted = true;
    const accessKeyId = `ASIA${randomBytes(8).toString('hex').toUpperCase()}`;
    issued.push(accessKeyId);
    const expiration = new Date(Date.now() + (opts.durationSec ?? 3600) * 1000).toISOString();
    const roleName = opts.roleArn.split('/').pop();
    const account = opts.roleArn.split(':')[4];
    reply(
      200,
      `<AssumeRoleResponse xmlns="${NS}"><AssumeRoleResult>` +
        `<AssumedRoleUser><Arn>arn:aws:sts::${account}:assumed-role/${roleName}/${escapeXml(call.sessionName ?? '')}</Arn><AssumedRoleId>AROATEST:${escapeXml(call.sessionName ?? '')}</AssumedRoleId></AssumedRoleUser>` +
        `<Credentials><AccessKeyId>${accessKeyId}</AccessKeyId><SecretAccessKey>${randomBytes(20).toString('base64')}</SecretAccessKey>` +
        `<SessionToken>${randomBytes(32).toString('base64')}</SessionToken><Expiration>${expiration}</Expiration></Credentials>` +
        `</AssumeRoleResult><ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></AssumeRoleResponse>`,
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return { endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, calls, issuedAccessKeyIds: issued };
}

function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
