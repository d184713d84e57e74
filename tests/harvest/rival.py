"""Another machine's harvest of the same feed, wanting its lease (tests/harvest/test_harvest_lease.py):

    python -m tests.harvest.rival LEASE_NAME

run with the harvest's environment (same database). Its host name is not this machine's, so the
holder's process id tells it nothing: only the lease's expiry (by the database's clock) frees it.
It prints "ready" once it has started (booting Django takes seconds on a loaded machine), waits
for a line on its stdin, then tries to take the lease every 20 ms of real time; it prints "refused"
after its first refused try and one line when it stops:
  took HOLDER REFUSED       it took the lease from HOLDER after REFUSED refused tries (exit 0);
  released REFUSED          the holder released it first: the harvest ended (exit 3).
Each try checks and takes in one transaction, so a lease released at the end of a harvest is never
mistaken for one taken from a live holder.
"""

from __future__ import annotations

import os
import socket
import sys
import time


def run(name: str) -> int:
    import django

    socket.gethostname = lambda: "rival-machine"  # type: ignore[assignment]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "paperfeed.settings")
    django.setup()
    from django.db import transaction

    from paperfeed.core import leases
    from paperfeed.core.models import Lease

    Lease.objects.filter(name=name).exists()  # connected
    print("ready", flush=True)
    sys.stdin.readline()
    refused = 0
    while True:
        with transaction.atomic():
            lease = Lease.objects.select_for_update().filter(name=name).first()
            if lease is not None and not lease.holder:
                print(f"released {refused}", flush=True)
                return 3
            holder = lease.holder if lease is not None else "-"
            if leases.try_acquire(name, ttl=60) is not None:
                print(f"took {holder} {refused}", flush=True)
                return 0
        refused += 1
        if refused == 1:
            print("refused", flush=True)
        time.sleep(0.02)


if __name__ == "__main__":
    sys.exit(run(sys.argv[1]))
