// What the trending endpoints compute from recent posts: $COIN and #topic counts, busiest channels.
"use strict";

function count(items) {
  const counts = new Map();
  for (const item of items) counts.set(item, (counts.get(item) || 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, 10).map(([name, n]) => ({ name, count: n }));
}

function trending(kind, posts) {
  if (kind === "channels") return count(posts.map((p) => p.channel));
  const pattern = kind === "coins" ? /\$([A-Z]{2,6})\b/g : /#(\w+)/g;
  return count(posts.flatMap((p) => [...p.text.matchAll(pattern)].map((m) => m[1])));
}

module.exports = { trending };
