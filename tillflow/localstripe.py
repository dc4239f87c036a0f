"""Run localstripe (a stateful Stripe API emulator from PyPI) on 127.0.0.1 for the local default.

localstripe binds every interface and pickles its whole store to /tmp on every write; we bind
loopback only and keep the store in memory (each start is a fresh test-mode account).
"""

from __future__ import annotations

import argparse
import logging


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()

    from aiohttp import web
    from localstripe import resources, server

    resources.Store.dump_to_disk = lambda self: None
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    web.run_app(server.app, host="127.0.0.1", port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
