import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  endpointText,
  isPrivateSubnet,
  isUnreachableFromOutside,
  overlaps,
  parseEndpoint,
  parseSubnet,
} from './addresses.js';

test('endpoints as phones dial them: names, IPv4, bracketed IPv6, the default port', () => {
  const text = (input: string) => {
    const endpoint = parseEndpoint(input, 51820);
    return endpoint && endpointText(endpoint);
  };
  assert.equal(text('Home.Example.net'), 'home.example.net:51820');
  assert.equal(text('203.0.113.7:443'), '203.0.113.7:443');
  assert.equal(text('[2001:db8::1]'), '[2001:db8::1]:51820');
  assert.equal(text('[2001:db8::1]:5000'), '[2001:db8::1]:5000');
  for (const bad of ['2001:db8::1', 'host:0', 'host:65536', 'a b', '', '[host]:1', 'host:'])
    assert.equal(text(bad), null, bad);
});

test('subnets: the network itself, private ranges only, overlaps both ways', () => {
  assert.deepEqual(parseSubnet('10.87.0.0/24'), { network: 0x0a570000, prefix: 24 });
  assert.equal(parseSubnet('10.87.0.1/24'), null, 'host bits set');
  assert.equal(parseSubnet('10.87.0.0/33'), null);
  assert.ok(isPrivateSubnet(parseSubnet('172.20.0.0/16')!));
  assert.ok(!isPrivateSubnet(parseSubnet('172.32.0.0/16')!));
  assert.ok(!isPrivateSubnet(parseSubnet('10.0.0.0/7')!));
  assert.ok(overlaps(parseSubnet('192.168.0.0/16')!, parseSubnet('192.168.1.0/24')!));
  assert.ok(overlaps(parseSubnet('192.168.1.0/24')!, parseSubnet('192.168.0.0/16')!));
  assert.ok(!overlaps(parseSubnet('10.87.0.0/24')!, parseSubnet('10.87.1.0/24')!));
  assert.ok(isUnreachableFromOutside('100.72.1.1'), 'carrier-grade NAT');
  assert.ok(isUnreachableFromOutside('fd00::2'));
  assert.ok(!isUnreachableFromOutside('203.0.113.7'));
  assert.ok(!isUnreachableFromOutside('2001:db8::1'));
});
