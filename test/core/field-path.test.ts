import { test } from 'node:test';
import assert from 'node:assert/strict';
import { valueAtPath } from '../../src/core/field-path.js';

// A record as the parsers produce it: from JSON.parse, so "__proto__" is an own field there.
const event = JSON.parse(
  '{"id":"e1","actor":"alice","details":{"subject_id":"BIP-7","user":{"name":"bob","mfa":false,"groups":null},' +
    '"targets":[{"id":"t0"},{"id":"t1"}],"__proto__":{"polluted":"from the record"},"a.b":"flat"}}',
);

test('top-level and nested fields, including falsy values', () => {
  assert.equal(valueAtPath(event, 'actor'), 'alice');
  assert.equal(valueAtPath(event, 'details.subject_id'), 'BIP-7');
  assert.equal(valueAtPath(event, 'details.user.name'), 'bob');
  assert.equal(valueAtPath(event, 'details.user.mfa'), false);
  assert.equal(valueAtPath(event, 'details.user.groups'), null);
  assert.deepEqual(valueAtPath(event, 'details.user'), { name: 'bob', mfa: false, groups: null });
});

test('a missing step anywhere gives undefined, also through null and scalars', () => {
  assert.equal(valueAtPath(event, 'tenant'), undefined);
  assert.equal(valueAtPath(event, 'details.nope.deeper'), undefined);
  assert.equal(valueAtPath(event, 'details.user.groups.x'), undefined, 'through null');
  assert.equal(valueAtPath(event, 'actor.length'), undefined, 'through a string');
  assert.equal(valueAtPath(event, 'details.a.b'), undefined, 'a dot always separates steps');
  assert.equal(valueAtPath(undefined, 'actor'), undefined);
});

test('array elements by index; no other array property', () => {
  assert.equal(valueAtPath(event, 'details.targets.1.id'), 't1');
  assert.equal(valueAtPath(event, 'details.targets.2.id'), undefined);
  assert.equal(valueAtPath(event, 'details.targets.length'), undefined);
  assert.equal(valueAtPath(event, 'details.targets.01'), undefined, 'not an index as S3 or JSON paths write one');
});

test('only own fields: no step reaches Object.prototype or a function', () => {
  assert.equal(valueAtPath(event, 'constructor'), undefined);
  assert.equal(valueAtPath(event, 'details.toString'), undefined);
  assert.equal(valueAtPath(event, 'details.user.constructor.prototype'), undefined);
  assert.equal(valueAtPath(event, 'details.user.hasOwnProperty'), undefined);
  assert.equal(valueAtPath({ a: 1 }, '__proto__'), undefined, 'an object literal has no own __proto__');
  // JSON.parse makes "__proto__" an own field: it is the record's data and is read as such.
  assert.deepEqual(valueAtPath(event, 'details.__proto__'), { polluted: 'from the record' });
  assert.equal(valueAtPath(event, 'details.__proto__.polluted'), 'from the record');
});
