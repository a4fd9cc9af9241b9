// A real GramJS client driven by tests/integration/mtproto/test_gramjs.py, run with the botfakes
// preload (NODE_OPTIONS=--require .../gramjs.cjs): no option here points GramJS at the fake.
//
//   node gramjs_client.cjs session '{"session": "1...", "apiId": 1, "apiHash": "..."}'
//       connect, getMe, send to alice, read crypto_signals, then wait for one new channel post
//   node gramjs_client.cjs bot-login '{"token": "...", "apiId": 1, "apiHash": "..."}'
//       a fresh sign-in (key exchange with the fake's RSA key), getMe, the saved session
//   node gramjs_client.cjs bench '{"session": "1...", "count": 1000, ...}'
//       connect and getMe once, say "ready", wait for a line on stdin, then time `count` getMe
//       round trips one after another (benchmarks/bench_mtproto.py)
// Each step prints one JSON line; errors print {"error": String(err)} and exit 1.
"use strict";

const { TelegramClient } = require("telegram");
const { StringSession } = require("telegram/sessions");
const { NewMessage } = require("telegram/events");

function say(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

function userJson(user) {
  return { className: user.className, id: user.id.toString(), firstName: user.firstName,
    username: user.username, bot: !!user.bot, self: !!user.self };
}

async function session(config) {
  const client = new TelegramClient(new StringSession(config.session), config.apiId, config.apiHash,
    { connectionRetries: 1, autoReconnect: false });
  client.setLogLevel("error");
  await client.connect();
  try {
    say({ step: "getMe", user: userJson(await client.getMe()) });
    const sent = await client.sendMessage("alice", { message: "hello from GramJS" });
    say({ step: "sendMessage", id: sent.id, out: !!sent.out, text: sent.message });
    const posts = await client.getMessages("crypto_signals", { limit: 100 });
    say({ step: "history", className: posts[0].className, ids: posts.map((m) => m.id),
      texts: posts.slice(0, 3).map((m) => m.message), total: posts.total,
      channel: posts[0].peerId.className });
    const received = new Promise((resolve) => {
      client.addEventHandler((event) => resolve(event.message), new NewMessage({}));
    });
    say({ step: "listening" });
    const message = await received;
    say({ step: "update", id: message.id, text: message.message, peer: message.peerId.className,
      channelId: message.peerId.channelId ? message.peerId.channelId.toString() : null });
  } finally {
    await client.disconnect();
    await client.destroy();
  }
}

async function botLogin(config) {
  const client = new TelegramClient(new StringSession(""), config.apiId, config.apiHash,
    { connectionRetries: 1, autoReconnect: false });
  client.setLogLevel("error");
  await client.start({ botAuthToken: config.token });
  try {
    say({ step: "getMe", user: userJson(await client.getMe()) });
    say({ step: "saved", session: client.session.save() });
  } finally {
    await client.disconnect();
    await client.destroy();
  }
}

async function bench(config) {
  const client = new TelegramClient(new StringSession(config.session), config.apiId, config.apiHash,
    { connectionRetries: 1, autoReconnect: false });
  client.setLogLevel("error");
  await client.connect();
  try {
    await client.getMe();
    say({ step: "ready" });
    await new Promise((resolve) => process.stdin.once("data", resolve));
    const start = process.hrtime.bigint();
    for (let i = 0; i < config.count; i++) await client.getMe();
    say({ step: "bench", count: config.count, seconds: Number(process.hrtime.bigint() - start) / 1e9 });
  } finally {
    await client.disconnect();
    await client.destroy();
  }
}

const modes = { session, "bot-login": botLogin, bench };
modes[process.argv[2]](JSON.parse(process.argv[3])).then(
  () => process.exit(0),
  (err) => { say({ error: String(err), stack: err && err.stack }); process.exit(1); },
);
