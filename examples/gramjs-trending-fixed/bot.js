// The same GramJS trending service with seed 000's fix: one client, connected once. Concurrent
// requests wait for the one in-flight connect promise and then share the connected client, so
// the auth key is only ever used on one connection.
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

class TelegramConnection {
  constructor() {
    this.client = null;
    this.isConnecting = false; // connection lock flag
    this.connectionPromise = null; // the pending connection
  }

  async connect() {
    if (this.client && this.client.connected) return this.client; // already connected: reuse
    if (this.isConnecting && this.connectionPromise) return this.connectionPromise; // wait for it
    this.isConnecting = true;
    this.connectionPromise = (async () => {
      try {
        const client = new TelegramClient(new StringSession(SESSION), API_ID, API_HASH,
          { connectionRetries: 1 });
        client.setLogLevel("error");
        await client.connect();
        this.client = client;
        console.log("✅ Telegram client connected successfully");
        return client;
      } catch (err) {
        console.error(`❌ Telegram connection error: ${err}`);
        throw err;
      } finally {
        this.isConnecting = false; // released even when the connect fails
        this.connectionPromise = null;
      }
    })();
    return this.connectionPromise;
  }
}

const telegram = new TelegramConnection();

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
    const posts = await recentPosts(await telegram.connect());
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(trending(kind, posts)));
  } catch (err) {
    res.writeHead(500, { "content-type": "application/json" }).end(JSON.stringify({ error: String(err) }));
  }
}).listen(PORT, "127.0.0.1", () => console.log(`trending service listening on ${PORT}`));
