"""`python -m adapters.secrets set|delete|list|where`: manage exchange API keys by reference.

python -m adapters.secrets set binance-testnet --api-key KEY   # secret read from stdin / prompt
python -m adapters.secrets list                                 # references only, never secrets
"""

from __future__ import annotations

import argparse
import getpass
import sys

from adapters.secrets.store import ApiCredentials, SecretsError, default_store


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m adapters.secrets", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("set", help="store an API key and secret under a reference")
    s.add_argument("ref")
    s.add_argument("--api-key", required=True)
    s.add_argument("--secret-stdin", action="store_true", help="read the secret from stdin (default: prompt)")
    d = sub.add_parser("delete", help="remove a reference")
    d.add_argument("ref")
    sub.add_parser("list", help="list references (never the secrets)")
    sub.add_parser("where", help="say which backend holds the keys")
    args = parser.parse_args(argv)
    try:
        store = default_store()
        if args.cmd == "set":
            secret = sys.stdin.readline().strip() if args.secret_stdin else getpass.getpass("API secret: ")
            if not secret:
                print("error: empty secret", file=sys.stderr)
                return 2
            store.put(args.ref, ApiCredentials(args.api_key, secret))
            print(f"stored {args.ref} in {store.description}")
        elif args.cmd == "delete":
            store.delete(args.ref)
            print(f"deleted {args.ref} from {store.description}")
        elif args.cmd == "list":
            for ref in store.refs():
                print(ref)
        else:
            print(store.description)
    except SecretsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
