import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eventTypeProblem, knownEventTypes } from '../../src/formats/event-type-catalog.js';

// The catalogue is assembled from the format registry: a producer whose types
// were left out of it would make include/exclude refuse its events' types.
test('include/exclude accept the types of every producer and of kept unparsed records', () => {
  const known = knownEventTypes();
  for (const type of ['login', 'web_authn_revoke_key', 'ldap.bind', 'radius.authorize', 'vpc.flow', 'vpc.nodata', 'vpc.skipdata', 'unparsed', 'cloudwatch.log']) {
    assert.equal(eventTypeProblem(type, known), null, type);
  }
  for (const entry of ['temporal.DeleteUser', 'cloudtrail.ConsoleLogin', 'temporal.*', 'cloudtrail.*', 'admin_*', 'vpc.*']) {
    assert.equal(eventTypeProblem(entry, known), null, entry);
  }
});

test('include/exclude refuse a type no producer has, suggesting the near ones, unless audit.eventTypes lists it', () => {
  assert.equal(eventTypeProblem('logn', knownEventTypes()), 'unknown event type "logn" (did you mean "login"?); add it to audit.eventTypes if your producer sends it');
  assert.equal(eventTypeProblem('acme.*', knownEventTypes()), 'pattern "acme.*" matches no known event type');
  // An open namespace takes any operation name, but not none.
  assert.equal(eventTypeProblem('temporal.', knownEventTypes()), 'unknown event type "temporal."; add it to audit.eventTypes if your producer sends it');
  assert.equal(eventTypeProblem('acme.signin', knownEventTypes(['acme.signin'])), null);
});
