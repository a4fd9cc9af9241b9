// A GramJS (npm telegram) trending service: each HTTP request creates and connects its own client
// on the one session, seed 000's bug. Three requests at once open three connections with one auth
// key, and Telegram answers `RPCError: 406: AUTH_KEY_DUPLICATED (caused by InvokeWithLayer)`.
//
//   GET /trending-channels | /trending-coins | /trending-topics   GET /health
// Environment: TELEGRAM_SESSION (a GramJS StringSession), TELEGRAM_API_ID, TELEGRAM_API_HASH,
// TRENDING_CHANNELS (comma-separated usernames), PORT.
"use strict";

const http = require("http");
const { TelegramClient } = require("telegram");
const { StringSession } = require("telegram/sessions");
const { trending } = require("./trending");

const SESSION = process.env.TELEGRAM_SESSION;
const API_ID = Number(process.env.TELEGRAM_API_ID);
const API_HASH = process.env.TELEGRAM_API_HASH;
const CHANNELS = (process.env.TRENDING_CHANNELS || "crypto_signals").split(",").filter(Boolean);
const PORT = Number(process.env.PORT || 3000);

// The bug: a new client, a new connection, for every request.
async function withClient(work) {
  const client = new TelegramClient(new StringSession(SESSION), API_ID, API_HASH,
    { connectionRetries: 1, autoReconnect: false });
  client.setLogLevel("error");
  try {
    await client.connect();
    return await work(client);
  } catch (err) {
    console.error(`❌ Telegram connection error: ${err}`);
    throw err;
  } finally {
    await client.disconnect();
    await client.destroy();
  }
}

async function recentPosts(client) {
  const posts = [];
  for (const channel of CHANNELS) {
    for (const message of await client.getMessages(channel, { limit: 50 })) {
      posts.push({ channel, text: message.message || "" });
    }
  }
  return posts;
}

http.createServer(async (req, res) => {
  const kind = req.url.replace(/^\/trending-/, "");
  if (req.url === "/health") {
    res.writeHead(200).end("ok");
    return;
  }
  if (!["channels", "coins", "topics"].includes(kind)) {
    res.writeHead(404).end("not found");
    return;
  }
  try {
    const posts = await withClient(recentPosts);
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(trending(kind, posts)));
  } catch (err) {
    res.writeHead(500, { "content-type": "application/json" }).end(JSON.stringify({ error: String(err) }));
  }
}).listen(PORT, "127.0.0.1", () => console.log(`trending service listening on ${PORT}`));
