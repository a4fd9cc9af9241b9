"""`python -m botfakes.reference_bot`: run the reference bot (or the variant BOT_VARIANT names).

Exit codes: 0 stopped by SIGTERM/SIGINT; 2 bad configuration; 3 another instance holds DATA_DIR;
4 the Bot API refused the token.
"""

from __future__ import annotations

import asyncio
import logging
import sys

from .app import EXIT_CONFIG, run
from .config import Config, ConfigError


def main() -> int:
    try:
        config = Config.from_env()
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return EXIT_CONFIG
    logging.basicConfig(
        level=getattr(logging, config.log_level, logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # Telethon and aiohttp are chatty at INFO; their warnings still show.
    for noisy in ("telethon", "aiohttp.access", "websockets"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))
    return asyncio.run(run(config))


if __name__ == "__main__":
    sys.exit(main())
