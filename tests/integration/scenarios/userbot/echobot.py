"""A tiny long-polling bot written the way people write one (stdlib only), with its own variable
names: BOT_TOKEN and API_ROOT (mapped in bot.toml with {placeholders}), LOCK_DIR for its guard.

GUARD=0 turns the instance guard off: two instances then both poll (seed 001's 409).
"""

import fcntl
import json
import os
import sys
import time
import urllib.error
import urllib.request

TOKEN = os.environ["BOT_TOKEN"]
API = f"{os.environ['API_ROOT']}/bot{TOKEN}"


def call(method, timeout=35, **params):
    req = urllib.request.Request(f"{API}/{method}", data=json.dumps(params).encode(),
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return json.load(resp)
    except urllib.error.HTTPError as exc:
        return json.load(exc)


def send(chat_id, text):
    while True:
        answer = call("sendMessage", chat_id=chat_id, text=text)
        retry = (answer.get("parameters") or {}).get("retry_after")
        if answer.get("ok") or not retry:
            return answer
        time.sleep(retry)  # flood control: wait what Telegram says, then send again


def main():
    if os.environ.get("GUARD", "1") == "1":
        lock = open(os.path.join(os.environ.get("LOCK_DIR", "."), "echobot.lock"), "w")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # released by the kernel on death
        except BlockingIOError:
            print("another instance is running; exiting", flush=True)
            return 0
    print("echobot polling", flush=True)
    offset = None
    while True:
        answer = call("getUpdates", offset=offset, timeout=25)
        if not answer.get("ok"):
            print(f"getUpdates failed: {answer.get('error_code')} {answer.get('description')}", flush=True)
            time.sleep(1)
            continue
        for update in answer["result"]:
            message = update.get("message") or {}
            if message.get("text"):
                send(message["chat"]["id"], f"you said {message['text']}")
            offset = update["update_id"] + 1  # confirmed by the next getUpdates, once handled


if __name__ == "__main__":
    sys.exit(main())
