import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { keepRedacted, REDACTED, redactSecrets, sealSecrets, unsealSecrets } from '../../src/tenants/destination-secrets.js';
import { secretScrubber, WITHHELD } from '../../src/tenants/secret-scrubber.js';
import { RedactedUrlError } from '../../src/tenants/url-secrets.js';

const HOOK = 'https://hooks.example.com:8443/services/in?token=t0k%2Fen&sig=a=b+c&token=second&flag&empty=#frag-secret';

test("a URL's query values and fragment are sealed at rest, opened exactly as sent, and redacted with names, host, port and path kept", () => {
  const key = randomBytes(32);
  const sealed = sealSecrets('http', { url: HOOK }, key);
  const stored = sealed.url as string;
  for (const secret of ['t0k', 'a=b+c', 'second', 'flag', 'frag-secret']) assert.ok(!stored.includes(secret), `${secret} is sealed: ${stored}`);
  assert.ok(stored.startsWith('https://hooks.example.com:8443/services/in?token='), stored);
  assert.doesNotThrow(() => new URL(stored), 'the stored URL still parses');
  assert.deepEqual(sealSecrets('http', sealed, key), sealed, 'sealing twice changes nothing');
  assert.equal(unsealSecrets('http', sealed, key, 'destination a/b').url, HOOK, 'the sink gets the very text sent');
  assert.throws(() => unsealSecrets('http', sealed, randomBytes(32), 'destination a/b'), /destination a\/b\.url/);

  const shown = `https://hooks.example.com:8443/services/in?token=${REDACTED}&sig=${REDACTED}&token=${REDACTED}&${REDACTED}&empty=#${REDACTED}`;
  assert.equal(redactSecrets('http', { url: HOOK }).url, shown);
  assert.equal(redactSecrets('http', sealed).url, shown, 'not even the sealed form is shown');
  assert.equal(redactSecrets('http', { url: 'https://h.example/in' }).url, 'https://h.example/in', 'a URL without query or fragment is shown as it is');
  // AWS endpoint overrides are URLs too.
  assert.equal(redactSecrets('kinesis', { streamName: 's', endpoint: 'https://vpce.example/?X-Sig=abc' }).endpoint, `https://vpce.example/?X-Sig=${REDACTED}`);
  assert.ok(!JSON.stringify(sealSecrets('s3', { bucket: 'b', stsEndpoint: 'https://sts.example/?k=abc' }, key)).includes('abc'));
});

test('a PATCH sending back the redacted URL keeps each stored value; a placeholder with no stored value, or for another endpoint, names url', () => {
  const stored = { url: HOOK };
  const shown = redactSecrets('http', stored).url as string;
  assert.equal(keepRedacted('http', { url: shown }, stored).url, HOOK);
  // One value changed, the others kept; order and repeats follow the patched URL.
  const oneNew = shown.replace(`sig=${REDACTED}`, 'sig=fresh');
  assert.equal(keepRedacted('http', { url: oneNew }, stored).url, HOOK.replace('sig=a=b+c', 'sig=fresh'));
  // A new URL without placeholders replaces the stored one whatever its host.
  assert.equal(keepRedacted('http', { url: 'https://other.example/in?token=new' }, stored).url, 'https://other.example/in?token=new');

  const refused = (url: string, why: RegExp) => {
    assert.throws(
      () => keepRedacted('http', { url }, stored),
      (err: unknown) => err instanceof RedactedUrlError && err.key === 'url' && why.test(err.message) && !err.message.includes('t0k'),
    );
  };
  refused(shown.replace('hooks.example.com', 'evil.example'), /same scheme, host, port and path/);
  refused(shown.replace(':8443', ':9443'), /same scheme, host, port and path/);
  refused(shown.replace('/services/in', '/services/other'), /same scheme, host, port and path/);
  refused(shown.replace('https:', 'http:'), /same scheme, host, port and path/);
  refused(`${shown.split('#')[0]}&extra=${REDACTED}`, /query parameter "extra"/);
  refused(`https://hooks.example.com:8443/services/in?token=${REDACTED}&token=${REDACTED}&token=${REDACTED}`, /"token" \(occurrence 3\)/);
  assert.throws(() => keepRedacted('http', { url: `https://h.example/?a=${REDACTED}` }, {}), (err: unknown) => err instanceof RedactedUrlError && err.key === 'url');
});

test("what a sink says about a config (a test step) is shown with that config's secret values, URL parts included, redacted", () => {
  const scrub = secretScrubber('http', { url: 'https://h.example/in?token=tok-123456&v=2', headers: { 'X-Api-Key': 'hdr-secret-9' }, auth: { bearer: 'abc' } });
  assert.equal(scrub('POST https://h.example/in?token=tok-123456&v=2 with hdr-secret-9 failed'), `POST https://h.example/in?token=${REDACTED}&v=2 with ${REDACTED} failed`);
  // Values this short would match ordinary words ("abc", "2"): they are not looked for.
  assert.equal(scrub('abc 2'), 'abc 2');
  assert.equal(secretScrubber('kafka', { bootstrapServers: ['b:9092'] })('connect b:9092'), 'connect b:9092');
});

test('a secret quoted back encoded is redacted too: percent-encoded, JSON-escaped, or a long segment of a path token', () => {
  const hook = 'T0AB12/B0CD34/slack path+token9';
  const scrub = secretScrubber('http', { url: 'https://hooks.example/services/${hook}', secureParams: { hook } });
  assert.equal(scrub(`no hook at /services/${encodeURI(hook)}`), `no hook at /services/${REDACTED}`);
  assert.equal(scrub(`{"path":"${hook.replaceAll('/', '\\/')}"}`), `{"path":"${REDACTED}"}`);
  assert.equal(scrub(`x=${encodeURIComponent(hook)}`), `x=${REDACTED}`);
  assert.equal(scrub('unknown webhook slack path+token9'), `unknown webhook ${REDACTED}`);
  // In a query the parser encodes ' as well, which no encodeURI* function does.
  const inQuery = secretScrubber('http', { url: 'https://hooks.example/in?k=${tok}', secureParams: { tok: "Sec'ret\"<x>" } });
  assert.equal(inQuery(`request line was POST /in?k=${new URL(`http://x/?Sec'ret"<x>`).search.slice(1)}`), `request line was POST /in?k=${REDACTED}`);
});

test("basic auth quoted back as the Authorization header the sink sent is redacted, secureParams references resolved", () => {
  const sent = Buffer.from('svc-user:pa55-word-7').toString('base64');
  const literal = secretScrubber('http', { url: 'https://h.example/in', auth: { username: 'svc-user', password: 'pa55-word-7' } });
  assert.equal(literal(`401: bad credentials in "Authorization: Basic ${sent}"`), `401: bad credentials in "Authorization: Basic ${REDACTED}"`);
  const referenced = secretScrubber('http', { url: 'https://h.example/in', auth: { username: 'svc-user', password: '${pw}' }, secureParams: { pw: 'pa55-word-7' } });
  assert.equal(referenced(`echo: Basic ${sent}`), `echo: Basic ${REDACTED}`);
});

test('a secret with characters outside ASCII is redacted when quoted back by a serialiser that escapes them as \\uXXXX', () => {
  const scrub = secretScrubber('http', { url: 'https://h.example/in', auth: { bearer: 'jeton-déjà-vu-9' } });
  assert.equal(scrub('{"error":"invalid token jeton-d\\u00e9j\\u00e0-vu-9"}'), `{"error":"invalid token ${REDACTED}"}`);
  assert.equal(scrub('invalid token jeton-d\\u00E9j\\u00E0-vu-9'), `invalid token ${REDACTED}`);
});

test('a secret is redacted where a receiver quotes part of it: cut short by the sink, its white space made one, or the token of a "Bearer …" header', () => {
  const token = 'tok-5f0c2a9e7b1d4c3a8e6f';
  const scrub = secretScrubber('http', { url: 'https://h.example/in', headers: { Authorization: `Bearer ${token}`, 'X-Pass': 'two  spaces\there-123' } });
  // The http sink cuts a body at 500 characters and marks the cut with …; here the cut falls inside the token.
  const cut = `HTTP 400: ${'x'.repeat(40)} invalid token ${token.slice(0, 15)}…`;
  assert.equal(scrub(cut), `HTTP 400: ${'x'.repeat(40)} invalid token ${REDACTED}…`);
  assert.equal(scrub(`HTTP 400: short body…`), 'HTTP 400: short body…', 'a cut that ends in no secret is left alone');
  assert.equal(scrub(`401: invalid token ${token}`), `401: invalid token ${REDACTED}`);
  assert.equal(scrub('header was two spaces here-123'), `header was ${REDACTED}`);
});

test('a secret is redacted in the other spellings receivers use: lower-case percent-encoding, PHP json_encode (\\/ and \\uxxxx at once), a Kafka password inside jaasConfig', () => {
  const pw = 'pä/ss+wörd-77';
  const scrub = secretScrubber('http', { url: 'https://h.example/in', auth: { bearer: pw } });
  assert.equal(scrub(`k=${encodeURIComponent(pw).toLowerCase()}`), `k=${REDACTED}`);
  assert.equal(scrub('{"t":"p\\u00e4\\/ss+w\\u00f6rd-77"}'), `{"t":"${REDACTED}"}`);
  const kafka = secretScrubber('kafka', {
    bootstrapServers: ['b:9092'],
    topic: 't',
    sasl: { mechanism: 'PLAIN', jaasConfig: 'org.apache.kafka.common.security.plain.PlainLoginModule required username="svc" password="${pw}";', secureParams: { pw: 'kafka-Secret-Pass-123' } },
  });
  assert.equal(kafka('SASL authentication failed for svc / kafka-Secret-Pass-123'), `SASL authentication failed for svc / ${REDACTED}`);
});

test("a config made to defeat the scrubber's index (hundreds of long secret parts with one head) gets its texts withheld, not scanned at length", () => {
  // One secureParam of 337 '/'-parts, each a run of a's: every part is a form starting "aaaa".
  const value = Array.from({ length: 337 }, (_, i) => `${'a'.repeat(8 + (i % 180))}b`).join('/');
  const scrub = secretScrubber('http', { url: 'https://h.example/in', headers: { 'X-K': '${p}' }, secureParams: { p: value } });
  const reason = (i: number) => `POST https://h.example/in answered HTTP 400: ${i} ${'a'.repeat(520)}…`;
  assert.equal(scrub(reason(1)), WITHHELD);
  assert.equal(scrub(reason(2)), WITHHELD, 'and every later text of that config, at no cost');
  // An ordinary config is never withheld.
  assert.equal(secretScrubber('http', { url: 'https://h.example/in', auth: { bearer: 'tok-123456' } })(reason(3)), reason(3));
});
