"""What the trending endpoints compute from recent posts: $COIN and #topic counts, busiest channels."""

from __future__ import annotations

import re
from collections import Counter


def trending(kind: str, posts: list[tuple[str, str]]) -> list[dict]:
    """posts: (channel, text) pairs; the ten most frequent channels, $COINS or #topics."""
    if kind == "channels":
        counts = Counter(channel for channel, _ in posts)
    else:
        pattern = re.compile(r"\$([A-Z]{2,6})\b" if kind == "coins" else r"#(\w+)")
        counts = Counter(m for _, text in posts for m in pattern.findall(text))
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:10]
    return [{"name": name, "count": count} for name, count in ranked]
