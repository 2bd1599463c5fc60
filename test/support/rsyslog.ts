import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { freePort } from './free-port.js';
import { tempDir, waitFor } from './temp.js';

export const RSYSLOGD = '/usr/sbin/rsyslogd';

/** Why the rsyslog tests cannot run here, or undefined when they can. */
export function rsyslogMissing(): string | undefined {
  return existsSync(RSYSLOGD) ? undefined : `${RSYSLOGD} is not installed (Debian package rsyslog; scripts/setup-system.sh installs it)`;
}

/** Each field rsyslog parsed out of an RFC 5424 message, one line per message, split on "|". */
const TEMPLATE = '%pri%|%timestamp:::date-rfc3339%|%hostname%|%app-name%|%procid%|%msgid%|%structured-data%|%msg%\\n';

export interface Rsyslog {
  port: number;
  dir: string;
  /** For TLS: a CA made here, the receiver's certificate and a client certificate it signed. */
  certs?: RsyslogCerts;
  /** The messages rsyslog wrote, each split into its parsed RFC 5424 fields. */
  received(): string[][];
  stop(): Promise<void>;
  start(): Promise<void>;
}

/**
 * A real rsyslogd in the foreground with its own config: imtcp on a free
 * loopback port (octet-counted framing is on by default), every message
 * written by omfile with the fields rsyslog parsed. With `tls`, the gtls
 * netstream driver with certificates made by openssl here; with `clientAuth`
 * it also requires a client certificate.
 */
export async function startRsyslog(t: TestContext, opts: { tls?: boolean; clientAuth?: boolean } = {}): Promise<Rsyslog> {
  const dir = await tempDir(t, 'auditstream-rsyslog-');
  const port = await freePort();
  const out = join(dir, 'received.log');
  let tlsGlobals = '';
  let driver = '';
  let certs: RsyslogCerts | undefined;
  if (opts.tls) {
    certs = makeCertificates(dir);
    tlsGlobals = ` DefaultNetstreamDriver="gtls" DefaultNetstreamDriverCAFile="${certs.caFile}" DefaultNetstreamDriverCertFile="${certs.serverCert}" DefaultNetstreamDriverKeyFile="${certs.serverKey}"`;
    // x509/certvalid: a client must present a certificate the CA signed.
    driver = ` StreamDriver.Name="gtls" StreamDriver.Mode="1" StreamDriver.AuthMode="${opts.clientAuth ? 'x509/certvalid' : 'anon'}"`;
  }
  const conf = join(dir, 'rsyslog.conf');
  writeFileSync(
    conf,
    [
      `global(workDirectory="${dir}" maxMessageSize="64k"${tlsGlobals})`,
      `module(load="imtcp"${driver})`,
      `template(name="fields" type="string" string="${TEMPLATE}")`,
      `input(type="imtcp" port="${port}" address="127.0.0.1" ruleset="out")`,
      `ruleset(name="out") { action(type="omfile" file="${out}" template="fields" flushOnTXEnd="on") }`,
      '',
    ].join('\n'),
  );
  let child: ReturnType<typeof spawn> | undefined;
  let log = '';
  const start = async () => {
    log = '';
    child = spawn(RSYSLOGD, ['-n', '-f', conf, '-i', join(dir, 'rsyslogd.pid')], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    const running = child;
    await waitFor(() => {
      if (running.exitCode !== null) throw new Error(`rsyslogd exited (${running.exitCode}): ${log}`);
      return portOpen(port);
    }, `rsyslogd listening on ${port}`);
  };
  const stop = async () => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGTERM');
    await exited;
  };
  await start();
  t.after(stop);
  return {
    port,
    dir,
    ...(certs ? { certs } : {}),
    received: () => (existsSync(out) ? readFileSync(out, 'utf8').split('\n').filter((l) => l !== '').map(fieldsOf) : []),
    stop,
    start,
  };
}

/** The 7 header fields, then MSG whole (it may contain "|"). */
function fieldsOf(line: string): string[] {
  const parts = line.split('|');
  return [...parts.slice(0, 7), parts.slice(7).join('|')];
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1', () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

export interface RsyslogCerts {
  caFile: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

function makeCertificates(dir: string): RsyslogCerts {
  const openssl = (...args: string[]) => {
    const run = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`openssl ${args[0]} failed: ${run.stderr}`);
  };
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca-key.pem', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=auditstream test CA');
  for (const name of ['server', 'client']) {
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}-key.pem`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
    writeFileSync(join(dir, `${name}.ext`), 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n');
    openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca-key.pem', '-CAcreateserial', '-out', `${name}.pem`, '-days', '1', '-extfile', `${name}.ext`);
  }
  return {
    caFile: join(dir, 'ca.pem'),
    serverCert: join(dir, 'server.pem'),
    serverKey: join(dir, 'server-key.pem'),
    clientCert: join(dir, 'client.pem'),
    clientKey: join(dir, 'client-key.pem'),
  };
}
