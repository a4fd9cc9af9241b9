"""botfakes: fake Telegram Bot API, MTProto and Deriv servers for concurrency tests."""
__version__ = "0.1.0"
