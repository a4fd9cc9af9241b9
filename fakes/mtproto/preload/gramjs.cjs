// botfakes' GramJS preload: lets an unmodified GramJS (npm `telegram`) bot talk to the MTProto fake.
//
//   BOTFAKES_MTPROTO_PORT=8443 NODE_OPTIONS="--require $(botfakes gramjs-preload)" node bot.js
//
// 1. Trust: when GramJS loads telegram/crypto/RSA, the fake's test RSA key (test_rsa_key.pem,
//    shipped beside this file) is added to the `_serverKeys` map that module exports, so a fresh
//    sign-in's key exchange finds it ("Step 2 could not find a valid key" otherwise).
// 2. Address: TelegramClient.connect() dials port 80 (443 with useWSS) whatever the session says;
//    connections to those ports on the fake's host, or on Telegram's own DC addresses (a session
//    without an address starts at DC 2's), are sent to BOTFAKES_MTPROTO_HOST:BOTFAKES_MTPROTO_PORT.
// No GramJS file is changed: the map is GramJS's public export, the redirect is Node's net.Socket.
"use strict";

const crypto = require("crypto");
const fs = require("fs");
const Module = require("module");
const net = require("net");
const path = require("path");

const HOST = process.env.BOTFAKES_MTPROTO_HOST || "127.0.0.1";
const PORT = Number(process.env.BOTFAKES_MTPROTO_PORT || 0);
const PEM = process.env.BOTFAKES_MTPROTO_RSA_PEM || path.join(__dirname, "..", "test_rsa_key.pem");
const GRAMJS_PORTS = new Set([80, 443]);
// Telegram's production and test DC addresses (IPv4 149.154.160.0/20 and 91.108.0.0/16, IPv6).
const TELEGRAM_DC = /^(149\.154\.1(6[0-9]|7[0-5])\.|91\.108\.|2001:67c:4e8:|2001:b28:f23[df]:)/;

function tlBytes(buf) {
  // TL `bytes` serialization, as the fingerprint is sha1 over serialized n and e
  const head = buf.length < 254 ? Buffer.from([buf.length])
    : Buffer.from([254, buf.length & 255, (buf.length >> 8) & 255, (buf.length >> 16) & 255]);
  const body = Buffer.concat([head, buf]);
  return Buffer.concat([body, Buffer.alloc((4 - (body.length % 4)) % 4)]);
}

function stripZeros(buf) {
  let i = 0;
  while (i < buf.length - 1 && buf[i] === 0) i++;
  return buf.subarray(i);
}

function fakeKey() {
  const jwk = crypto.createPublicKey(fs.readFileSync(PEM)).export({ format: "jwk" });
  const n = stripZeros(Buffer.from(jwk.n, "base64url"));
  const e = stripZeros(Buffer.from(jwk.e, "base64url"));
  const digest = crypto.createHash("sha1").update(Buffer.concat([tlBytes(n), tlBytes(e)])).digest();
  const fingerprint = BigInt.asIntN(64, digest.readBigUInt64LE(12)).toString();
  return { fingerprint, n: BigInt("0x" + n.toString("hex")).toString(), e: parseInt(e.toString("hex"), 16) };
}

const trusted = new WeakSet();
const originalLoad = Module._load;
Module._load = function load(request, parent, isMain) {
  const exported = originalLoad.apply(this, arguments);
  if (exported && exported._serverKeys instanceof Map && !trusted.has(exported)) {
    trusted.add(exported);
    // big-integer as GramJS itself resolves it: its RSA code calls that library's methods on n
    const rsaFile = Module._resolveFilename(request, parent, isMain);
    const bigInt = Module.createRequire(rsaFile)("big-integer");
    const key = fakeKey();
    exported._serverKeys.set(key.fingerprint, { n: bigInt(key.n), e: key.e });
  }
  return exported;
};

if (PORT) {
  const originalConnect = net.Socket.prototype.connect;
  const aimed = (port, host) => GRAMJS_PORTS.has(Number(port)) && typeof host === "string"
    && (host === HOST || TELEGRAM_DC.test(host));
  net.Socket.prototype.connect = function connect(...args) {
    // GramJS calls socket.connect(port, ip, callback); net.connect() passes [options, callback]
    if (typeof args[0] === "number" && aimed(args[0], args[1])) {
      args[0] = PORT;
      args[1] = HOST;
    } else if (Array.isArray(args[0]) && args[0][0] && aimed(args[0][0].port, args[0][0].host)) {
      // Node's own normalized array (it carries a marker symbol): change its fresh options in place
      Object.assign(args[0][0], { port: PORT, host: HOST });
    } else if (args[0] && typeof args[0] === "object" && aimed(args[0].port, args[0].host)) {
      args[0] = { ...args[0], port: PORT, host: HOST };
    }
    return originalConnect.apply(this, args);
  };
}
