"""What a load run saw (bench/load.py), the promises it checks, and its report.

`LoadResult.problems()` names every promise broken: a workflow not accepted exactly once,
not seen finished through its watch, missing from, doubled in or wrong in the server's
list, a 5xx, a lost reply whose retry was not answered 409, a cut watch not opened again,
RSS over the bound.
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from rich.table import Table

from bench._server import DONE

__all__ = ["CREATE_TIMEOUT_S", "RSS_BOUND_MB", "LoadResult", "table"]

#: the server's resident set may never exceed this during a run: the idle server holds
#: ~85 MB, and it peaked at 150 MB with 2,000 workflows and 184 MB with 6,000 (bench/RESULTS.md)
RSS_BOUND_MB = 400
#: how long a client waits for a create's reply before it sends it again
CREATE_TIMEOUT_S = 30.0
_MB = 1024  # KiB in a MiB


@dataclass
class LoadResult:
    """What a run saw; `problems()` lists every broken promise (empty: all held)."""

    clients: int
    workflows: int
    expected: set[str] = field(default_factory=set)
    #: HTTP status of every reply (creates, watches, the final list), as text: "200", "409"
    statuses: Counter[str] = field(default_factory=Counter)
    #: requests that got no reply, by exception type
    transport_errors: Counter[str] = field(default_factory=Counter)
    create_ms: list[float] = field(default_factory=list)  # each create answered 200
    create_retries: int = 0
    #: 409 answers to a retry: the lost first attempt had been accepted
    accepted_on_retry: int = 0
    watch_reconnects: int = 0
    accepted: set[str] = field(default_factory=set)
    #: last phase each watch showed for its workflows
    watched: dict[str, str] = field(default_factory=dict)
    #: name -> (labels, phase) as the final list shows them; a name listed twice is in `listed_twice`
    stored: dict[str, tuple[dict[str, str], str]] = field(default_factory=dict)
    listed_twice: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # unexpected replies, each described
    rss_samples_kb: list[int] = field(default_factory=list)
    rss_start_kb: int = 0
    rss_peak_kb: int = 0  # VmHWM: the peak over the server's life, sampled or not
    rss_bound_mb: float = RSS_BOUND_MB
    create_timeout_s: float = CREATE_TIMEOUT_S
    #: names whose first create's reply the driver throws away (see _LosingTransport)
    lost_replies: set[str] = field(default_factory=set)
    #: watch streams the driver cut on purpose (one per client at most)
    cut_watches: int = 0
    creates_s: float = 0.0  # from the first create sent to the last accepted
    total_s: float = 0.0  # from the first create sent to the last workflow seen finished
    #: CPU seconds over the run: the server's own, its reaped children's (the tasks), the clients'
    server_cpu_s: float = 0.0
    tasks_cpu_s: float = 0.0
    clients_cpu_s: float = 0.0
    run_id: str = ""
    labels: dict[str, dict[str, str]] = field(default_factory=dict)

    def problems(self) -> list[str]:
        out = list(self.errors[:20])
        if len(self.errors) > 20:
            out.append(f"... and {len(self.errors) - 20} more unexpected replies")
        five = {s: n for s, n in self.statuses.items() if s.startswith("5")}
        if five:
            out.append(f"5xx replies: {five}")
        if missing := self.expected - self.accepted:
            out.append(f"{len(missing)} workflows never accepted, e.g. {sorted(missing)[:5]}")
        if unfinished := sorted(n for n in self.expected if self.watched.get(n) not in DONE):
            out.append(f"{len(unfinished)} workflows not seen finished through the watch, e.g. {unfinished[:5]}")
        if failed := sorted(n for n, p in self.watched.items() if p in DONE and p != "Succeeded"):
            out.append(f"{len(failed)} workflows finished but did not succeed, e.g. {failed[:5]}")
        stored = set(self.stored)
        if lost := self.expected - stored:
            out.append(f"{len(lost)} workflows missing from the server's list, e.g. {sorted(lost)[:5]}")
        if extra := stored - self.expected:
            out.append(f"{len(extra)} workflows the clients never asked for, e.g. {sorted(extra)[:5]}")
        if self.listed_twice:
            out.append(f"{len(self.listed_twice)} names listed more than once, e.g. {self.listed_twice[:5]}")
        wrong = sorted(n for n, (labels, _) in self.stored.items()
                       if n in self.labels and any(labels.get(k) != v for k, v in self.labels[n].items()))
        if wrong:
            out.append(f"{len(wrong)} stored workflows lack their labels, e.g. {wrong[:5]}")
        if not_ok := sorted(n for n, (_, phase) in self.stored.items() if phase != "Succeeded"):
            out.append(f"{len(not_ok)} stored workflows are not Succeeded, e.g. {not_ok[:5]}")
        if self.accepted_on_retry < len(self.lost_replies):
            out.append(f"{len(self.lost_replies)} replies were lost on purpose but only "
                       f"{self.accepted_on_retry} retries were answered 409")
        if self.watch_reconnects < self.cut_watches:
            out.append(f"{self.cut_watches} watch streams were cut on purpose but only "
                       f"{self.watch_reconnects} were opened again")
        if self.rss_peak_kb / _MB > self.rss_bound_mb:
            out.append(f"server peak RSS {self.rss_peak_kb / _MB:.0f} MB is over the bound of {self.rss_bound_mb:.0f} MB")
        return out

    def _rss_timeline(self) -> list[float]:
        """The highest RSS sample (MB) in each tenth of the run."""
        k = self.rss_samples_kb
        if len(k) < 10:
            return []
        return [round(max(k[i * len(k) // 10:(i + 1) * len(k) // 10]) / _MB, 1) for i in range(10)]

    def report(self) -> dict[str, Any]:
        lat = sorted(self.create_ms)
        pct = statistics.quantiles(lat, n=100, method="inclusive") if len(lat) > 1 else lat * 99
        return {
            "clients": self.clients,
            "workflows": self.workflows,
            "create_latency_ms": {"p50": round(pct[49], 1), "p99": round(pct[98], 1), "max": round(max(lat), 1),
                                  "samples": len(lat)} if lat else None,
            "creates_s": round(self.creates_s, 2),
            "total_s": round(self.total_s, 2),
            "accepted_per_s": round(len(self.accepted) / self.creates_s, 1) if self.creates_s else None,
            "finished_per_s": round(len(self.expected) / self.total_s, 1) if self.total_s else None,
            "server_rss_mb": {"start": round(self.rss_start_kb / _MB, 1),
                              "peak": round(self.rss_peak_kb / _MB, 1),
                              "end": round(self.rss_samples_kb[-1] / _MB, 1) if self.rss_samples_kb else None,
                              "bound": self.rss_bound_mb, "samples": len(self.rss_samples_kb),
                              "by_tenth_of_the_run": self._rss_timeline()},
            "cpu_s": {"server": round(self.server_cpu_s, 1), "tasks": round(self.tasks_cpu_s, 1),
                      "clients": round(self.clients_cpu_s, 1),
                      "server_ms_per_workflow": round(1000 * self.server_cpu_s / self.workflows, 1)},
            "statuses": dict(sorted(self.statuses.items())),
            "transport_errors": dict(self.transport_errors),
            "create_retries": self.create_retries,
            "accepted_on_retry": self.accepted_on_retry,
            "replies_lost_on_purpose": len(self.lost_replies),
            "watches_cut_on_purpose": self.cut_watches,
            "watch_reconnects": self.watch_reconnects,
            "accepted": len(self.accepted),
            "seen_succeeded": sum(1 for p in self.watched.values() if p == "Succeeded"),
            "stored": len(self.stored),
            "problems": self.problems(),
        }


def table(report: dict[str, Any]) -> Table:
    table = Table(title=f"load: {report['clients']} clients, {report['workflows']:,} workflows")
    table.add_column("figure")
    table.add_column("value", justify="right")
    lat, rss, cpu = report["create_latency_ms"] or {}, report["server_rss_mb"], report["cpu_s"]
    rows = [
        ("create latency p50 / p99 / max", f"{lat.get('p50')} / {lat.get('p99')} / {lat.get('max')} ms"),
        ("all accepted / all finished", f"{report['creates_s']} s / {report['total_s']} s"),
        ("accepted / finished per second", f"{report['accepted_per_s']} / {report['finished_per_s']}"),
        ("server RSS start / peak / end (bound)", f"{rss['start']} / {rss['peak']} / {rss['end']} MB ({rss['bound']} MB)"),
        ("CPU: server / tasks / clients", f"{cpu['server']} / {cpu['tasks']} / {cpu['clients']} s "
                                          f"({cpu['server_ms_per_workflow']} ms of server a workflow)"),
        ("HTTP statuses", ", ".join(f"{k}: {v:,}" for k, v in report["statuses"].items())),
        ("no reply (retried)", ", ".join(f"{k}: {v}" for k, v in report["transport_errors"].items()) or "none"),
        ("create retries / 409 after a retry / replies lost on purpose",
         f"{report['create_retries']} / {report['accepted_on_retry']} / {report['replies_lost_on_purpose']}"),
        ("watch reconnects / streams cut on purpose", f"{report['watch_reconnects']} / {report['watches_cut_on_purpose']}"),
        ("accepted / seen Succeeded / stored", f"{report['accepted']:,} / {report['seen_succeeded']:,} / {report['stored']:,}"),
    ]
    for row in rows:
        table.add_row(*row)
    return table
