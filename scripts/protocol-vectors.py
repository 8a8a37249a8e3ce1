#!/usr/bin/env python3
# Regenerates the `improv` and `hearth` arrays of docs/protocol-vectors.json from the layouts in docs/protocols.md
# (a second implementation, so the hub codec is not checked against itself):
#   python3 scripts/protocol-vectors.py && npx biome format --write docs/protocol-vectors.json
# An independent implementation of the byte layouts in docs/protocols.md, written from the text,
# so the TypeScript codec is checked against something other than itself.
import json, os, struct
VECTORS = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'docs', 'protocol-vectors.json')
def h(b): return bytes(b).hex()
def ck(b): return sum(b) & 0xff
def frame(cmd, data):
    b = bytes([cmd, len(data)]) + bytes(data)
    return b + bytes([ck(b)])
def s(x): 
    e = x.encode('utf-8'); return bytes([len(e)]) + e
def split(b, n=20): return [h(b[i:i+n]) for i in range(0, len(b), n)]

improv = []
ex = bytes.fromhex('011e0c4d79576972656c65737341501 06d7973656375726570617373776f7264c0'.replace(' ', ''))
assert frame(1, s('MyWirelessAP') + s('mysecurepassword')) == ex
improv += [
 dict(name='the public spec example: Wi-Fi settings MyWirelessAP / mysecurepassword', direction='request', hex=h(ex), valid=True, decoded=dict(command='wifi_settings', ssid='MyWirelessAP', password='mysecurepassword')),
 dict(name='the spec example split into 20-byte writes', direction='request', hex=h(ex), writes=split(ex), valid=True, decoded=dict(command='wifi_settings', ssid='MyWirelessAP', password='mysecurepassword')),
 dict(name='identify', direction='request', hex='020002', valid=True, decoded=dict(command='identify')),
 dict(name='device info', direction='request', hex='030003', valid=True, decoded=dict(command='device_info')),
 dict(name='scan networks', direction='request', hex='040004', valid=True, decoded=dict(command='scan_networks')),
]
f = frame(1, s('Guest') + s(''))
improv.append(dict(name='an open network: empty password', direction='request', hex=h(f), valid=True, decoded=dict(command='wifi_settings', ssid='Guest', password='')))
f = frame(1, s('우리집 와이파이') + s('비밀번호1234'))
improv.append(dict(name='UTF-8 SSID and password', direction='request', hex=h(f), valid=True, decoded=dict(command='wifi_settings', ssid='우리집 와이파이', password='비밀번호1234')))
ssid, pw = 'S' * 32, 'p' * 64
f = frame(1, s(ssid) + s(pw))
improv.append(dict(name='longest SSID (32) and password (64), in 20-byte writes', direction='request', hex=h(f), writes=split(f), valid=True, decoded=dict(command='wifi_settings', ssid=ssid, password=pw)))
bad = bytearray(ex); bad[-1] = 0xc1
improv += [
 dict(name='bad checksum', direction='request', hex=h(bad), valid=False, error='bad checksum'),
 dict(name='short frame', direction='request', hex='0100', valid=False, error='shorter than 3'),
 dict(name='length byte larger than the data', direction='request', hex=h(frame(2, [])[:1] + bytes([5]) + bytes([7])), valid=False, error='length byte says'),
 dict(name='overlong field: a string runs past the data', direction='request', hex=h(frame(1, bytes([9]) + b'abc' + s('pw'))), valid=False, error='runs past the data'),
 dict(name='unknown RPC', direction='request', hex=h(frame(5, [])), valid=False, error='unknown RPC 0x05'),
 dict(name='SSID of 33 bytes', direction='request', hex=h(frame(1, s('S' * 33) + s('pw'))), valid=False, error='SSID is longer than 32'),
 dict(name='password of 65 bytes', direction='request', hex=h(frame(1, s('Home') + s('p' * 65))), valid=False, error='password is longer than 64'),
 dict(name='empty SSID', direction='request', hex=h(frame(1, s('') + s('pw'))), valid=False, error='SSID is empty'),
 dict(name='identify with data', direction='request', hex=h(frame(2, [1])), valid=False, error='takes no data'),
 dict(name='Wi-Fi settings with one string', direction='request', hex=h(frame(1, s('Home'))), valid=False, error='carry 2 strings'),
 dict(name='a string that is not UTF-8', direction='request', hex=h(frame(1, bytes([2, 0xc3, 0x28]) + s('pw'))), valid=False, error='not UTF-8'),
]
r = frame(1, s('http://192.168.1.23'))
improv.append(dict(name='Wi-Fi settings result: the device URL', direction='result', hex=h(r), valid=True, decoded=dict(command='wifi_settings', strings=['http://192.168.1.23'])))
r = frame(3, s('Hearth Camera') + s('0.3.1') + s('ESP32') + s('Garden cam'))
improv.append(dict(name='device info result: firmware, version, chip, name', direction='result', hex=h(r), writes=split(r), valid=True, decoded=dict(command='device_info', strings=['Hearth Camera', '0.3.1', 'ESP32', 'Garden cam'])))
r = frame(4, s('HomeNet') + s('-61') + s('YES'))
improv.append(dict(name='scan result: one network (SSID, RSSI, auth required)', direction='result', hex=h(r), valid=True, decoded=dict(command='scan_networks', strings=['HomeNet', '-61', 'YES'])))
improv.append(dict(name='scan result: the empty frame that ends the list', direction='result', hex='040004', valid=True, decoded=dict(command='scan_networks', strings=[])))
improv.append(dict(name='result with a bad checksum', direction='result', hex=h(r[:-1] + bytes([(r[-1] + 1) & 0xff])), valid=False, error='bad checksum'))

# Hearth TLV (magic 0x48, version 1, kind, records [tag][len][value])
def tlv(kind, recs):
    out = bytes([0x48, 1, kind])
    for tag, val in recs: out += bytes([tag, len(val)]) + bytes(val)
    return out
u16 = lambda n: struct.pack('<H', n); u32 = lambda n: struct.pack('<I', n); i8 = lambda n: struct.pack('<b', n)
key = bytes(range(32))
ENROL, STATUS, COMMANDS = 4, 5, 2
hearth = []
full = tlv(ENROL, [(0x30, b'http://hearth.local:8080'), (0x31, b'http://192.168.1.10:8080'), (0x32, b'hd_AbCdEf0123456789xyz'), (0x33, key)])
fulld = dict(hubUrl='http://hearth.local:8080', hubAddressUrl='http://192.168.1.10:8080', deviceToken='hd_AbCdEf0123456789xyz', signingKey=key.hex())
def chunks(v, n=20):
    p = n - 1; cnt = max(1, -(-len(v) // p))
    return [h(bytes([i | (0x80 if i == cnt - 1 else 0)]) + v[i*p:(i+1)*p]) for i in range(cnt)]
hearth += [
 dict(name='enrolment: hub by name and by address, token, signing key', characteristic='enrolment', hex=h(full), valid=True, decoded=fulld),
 dict(name='enrolment in 20-byte chunked writes', characteristic='enrolment', hex=h(full), writes=chunks(full), valid=True, decoded=fulld),
 dict(name='enrolment: the two required fields only', characteristic='enrolment', hex=h(tlv(ENROL, [(0x30, b'http://hub.local'), (0x32, b'hd_12345678')])), valid=True, decoded=dict(hubUrl='http://hub.local', deviceToken='hd_12345678')),
 dict(name='enrolment: an unknown tag is skipped', characteristic='enrolment', hex=h(tlv(ENROL, [(0x7e, b'\x01\x02'), (0x30, b'https://hub.local:8443'), (0x32, b'hd_12345678')])), valid=True, decoded=dict(hubUrl='https://hub.local:8443', deviceToken='hd_12345678')),
 dict(name='enrolment without a token', characteristic='enrolment', hex=h(tlv(ENROL, [(0x30, b'http://hub.local')])), valid=False, error='needs hubUrl and deviceToken'),
 dict(name='enrolment: a hub URL with a path', characteristic='enrolment', hex=h(tlv(ENROL, [(0x30, b'http://hub.local/x'), (0x32, b'hd_12345678')])), valid=False, error='not an http(s) base URL'),
 dict(name='enrolment: a token with a space', characteristic='enrolment', hex=h(tlv(ENROL, [(0x30, b'http://hub.local'), (0x32, b'hd_1234 5678')])), valid=False, error='not printable ASCII'),
 dict(name='enrolment: a signing key of 31 bytes', characteristic='enrolment', hex=h(tlv(ENROL, [(0x30, b'http://hub.local'), (0x32, b'hd_12345678'), (0x33, key[:31])])), valid=False, error='has length 31, expected 32'),
 dict(name='enrolment: a hub URL of 129 bytes (overlong field)', characteristic='enrolment', hex=h(tlv(ENROL, [(0x30, b'http://' + b'h' * 122), (0x32, b'hd_12345678')])), valid=False, error='expected 8–128'),
 dict(name='enrolment: the token twice', characteristic='enrolment', hex=h(tlv(ENROL, [(0x30, b'http://hub.local'), (0x32, b'hd_12345678'), (0x32, b'hd_87654321')])), valid=False, error='appears twice'),
]
st = tlv(STATUS, [(0x01, u32(7)), (0x40, u16(3950)), (0x41, i8(-61)), (0x42, b'0.3.1'), (0x43, [2]), (0x44, u16(201)), (0x45, u32(123456)), (0x46, u32(42)), (0x47, [1])])
std = dict(settingsVersion=7, batteryMv=3950, rssi=-61, firmware='0.3.1', wifiState='connected', lastUpload=201, freeHeap=123456, lastCommandId=42, enrolled=True)
hearth += [
 dict(name='status: everything a camera reports', characteristic='status', hex=h(st), valid=True, decoded=std),
 dict(name='status notified in 20-byte chunks', characteristic='status', hex=h(st), writes=chunks(st), valid=True, decoded=std),
 dict(name='status before provisioning, with an unknown tag skipped', characteristic='status', hex=h(tlv(STATUS, [(0x43, [0]), (0x47, [0]), (0x7f, b'\xff')])), valid=True, decoded=dict(wifiState='unprovisioned', enrolled=False)),
 dict(name='status: unknown Wi-Fi state', characteristic='status', hex=h(tlv(STATUS, [(0x43, [9])])), valid=False, error='Wi-Fi state 9 is unknown'),
 dict(name='status: RSSI of 2 bytes', characteristic='status', hex=h(tlv(STATUS, [(0x41, b'\xc3\xff')])), valid=False, error='has length 2, expected 1'),
 dict(name='status: record runs past the end', characteristic='status', hex=h(tlv(STATUS, [])) + '4004bb0e', valid=False, error='runs past the end'),
 dict(name='command: factory reset', characteristic='commands', hex=h(tlv(COMMANDS, [(0x10, u32(12) + bytes([6]))])), valid=True, decoded=[dict(id=12, kind='factory_reset')]),
 dict(name='command: capture now in one chunk', characteristic='commands', hex=h(tlv(COMMANDS, [(0x10, u32(13) + bytes([1]))])), writes=chunks(tlv(COMMANDS, [(0x10, u32(13) + bytes([1]))])), valid=True, decoded=[dict(id=13, kind='capture_now')]),
]
# chunk transport errors
c = chunks(full)
hearth += [
 dict(name='chunks out of order', characteristic='enrolment', hex=h(full), writes=[c[0], c[2]], valid=False, error='chunk 2 arrived when chunk 1 was expected'),
 dict(name='a value that grows past 512 bytes', characteristic='enrolment', hex='', writes=[h(bytes([i]) + b'\x00' * 19) for i in range(27)] + [h(bytes([27 | 0x80]) + b'\x00' * 19)], valid=False, error='grew past 512 bytes'),
]
# Firmware updates: upload replies that offer an image, and the manifest the hub signs (Ed25519 over it).
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives import serialization
import hashlib
REPLY = 3
signer = Ed25519PrivateKey.from_private_bytes(bytes(range(100, 132)))
public = signer.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
other = Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))
def manifest(version, size, sha):
    v = version.encode()
    return b'HEARTH-FW' + bytes([1, len(v)]) + v + u32(size) + sha
image = bytes((i * 7 + 3) & 0xff for i in range(1000))
sha = hashlib.sha256(image).digest()
m = manifest('1.4.0', len(image), sha)
sig = signer.sign(m)
u64 = lambda n: struct.pack('<Q', n)
base = [(0x20, [1]), (0x21, [0]), (0x22, u64(1795480000000))]
offer = [(0x50, b'1.4.0'), (0x51, u32(len(image))), (0x52, sha), (0x53, sig), (0x54, b'/api/device/firmware/3')]
offerd = dict(version='1.4.0', size=len(image), sha256=sha.hex(), signature=sig.hex(), url='/api/device/firmware/3')
reply = lambda recs: h(tlv(REPLY, base + recs))
replyd = dict(stored=1, duplicates=0, hubTime=1795480000000, commands=[])
updates = [
 dict(name='update: an upload reply offering firmware 1.4.0', hex=reply(offer), valid=True, decoded=dict(replyd, update=offerd)),
 dict(name='update: an offer after a command', hex=reply([(0x10, u32(9) + bytes([1]))] + offer), valid=True, decoded=dict(replyd, commands=[dict(id=9, kind='capture_now')], update=offerd)),
 dict(name='update: an offer without its signature', hex=reply(offer[:3] + offer[4:]), valid=False, error='needs all of 0x50–0x54'),
 dict(name='update: a signature of 63 bytes', hex=reply(offer[:3] + [(0x53, sig[:63])] + offer[4:]), valid=False, error='has length 63, expected 64'),
 dict(name='update: a URL that is not a path', hex=reply(offer[:4] + [(0x54, b'http://evil/fw')]), valid=False, error='not a path starting with /'),
 dict(name='update: size 0', hex=reply(offer[:1] + [(0x51, u32(0))] + offer[2:]), valid=False, error='update size 0'),
]
m2 = manifest('1.5.0', len(image), sha)
manifests = [
 dict(name='the manifest of a 1000-byte image, version 1.4.0, signed by the hub key', version='1.4.0', size=len(image), sha256=sha.hex(), imageHex=h(image), manifestHex=h(m), publicKey=h(public), signature=h(sig), verifies=True),
 dict(name='the same signature on a manifest claiming 1.5.0', version='1.5.0', size=len(image), sha256=sha.hex(), imageHex=h(image), manifestHex=h(m2), publicKey=h(public), signature=h(sig), verifies=False),
 dict(name='signed by a different key', version='1.4.0', size=len(image), sha256=sha.hex(), imageHex=h(image), manifestHex=h(m), publicKey=h(public), signature=h(other.sign(m)), verifies=False),
 dict(name='a signature with one bit flipped', version='1.4.0', size=len(image), sha256=sha.hex(), imageHex=h(image), manifestHex=h(m), publicKey=h(public), signature=h(bytes([sig[0] ^ 1]) + sig[1:]), verifies=False),
]

d = json.load(open(VECTORS))
d['improv'] = improv
d['hearth'] = hearth
d['uploadReply'] = [v for v in d['uploadReply'] if not v['name'].startswith('update:')] + updates
d['firmwareManifest'] = manifests
json.dump(d, open(VECTORS, 'w'), ensure_ascii=False, indent=2)
open(VECTORS, 'a').write('\n')
print(f'{len(improv)} improv, {len(hearth)} hearth, {len(updates)} update and {len(manifests)} manifest vectors written')
