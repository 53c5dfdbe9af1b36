#!/usr/bin/python3
"""metrics.py - scrape Tandem's OpenMetrics endpoints and parse them with
prometheus_client's OpenMetrics parser (strict: a malformed exposition is an
error).

  metrics.py get URL [NAME{label=value,...} ...]
      one scrape; prints each named sample's value (or every sample)
  metrics.py watch URL SECONDS OUT
      scrapes every 20 ms for SECONDS, writes one line per scrape to OUT:
      "ok <migrations running out>" or "bad <reason>"
  metrics.py parse FILE
      parses an exposition from a file (exit 1 when it is not valid)
"""
import sys
import time
import urllib.request
from prometheus_client.openmetrics.parser import text_string_to_metric_families


def scrape(url):
    with urllib.request.urlopen(url, timeout=5) as r:
        ctype = r.headers.get("Content-Type", "")
        if not ctype.startswith("application/openmetrics-text"):
            raise ValueError("Content-Type " + ctype)
        return r.read().decode()


def samples(text):
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            labels = ",".join("%s=%s" % kv for kv in sorted(s.labels.items()))
            out["%s{%s}" % (s.name, labels)] = s.value
    return out


def main():
    cmd = sys.argv[1]
    if cmd == "get":
        got = samples(scrape(sys.argv[2]))
        for k in sys.argv[3:] or sorted(got):
            print("%s %s" % (k, got.get(k, "absent")))
    elif cmd == "watch":
        end = time.time() + float(sys.argv[3])
        with open(sys.argv[4], "w") as f:
            while time.time() < end:
                try:
                    got = samples(scrape(sys.argv[2]))
                    f.write("ok %d\n" % got["tandem_migrations_running{direction=out}"])
                except Exception as e:  # every failure is a line the test reads
                    f.write("bad %s\n" % e)
                f.flush()
                time.sleep(0.02)
    elif cmd == "parse":
        samples(open(sys.argv[2]).read())
    else:
        sys.exit("usage: see the docstring")


main()
